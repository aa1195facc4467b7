"""Saving and loading a trained seed-003 estimator as plain files: the state dicts of the autoencoder and the
tracker, and a JSON description (the config and the channel scale, which fix the pilots W, G and the units). No
torch module is pickled; the MLflow model (a later pyfunc wrapper) stores these files as its artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.channel_estimation.autoencoder import ChannelAutoencoder
from models.channel_estimation.config import ChannelEstimationConfig
from models.channel_estimation.pilots import ChannelScale, PilotDesign, pilot_design
from models.channel_estimation.tracker import LatentTracker
from models.channel_estimation.training import estimate_proposed

AUTOENCODER = "autoencoder.pt"
TRACKER = "tracker.pt"
DESCRIPTION = "channel_estimator.json"


@dataclass
class ChannelEstimator:
    """What eq. (13) needs at inference: the trained networks, their config and the channel scale."""

    config: ChannelEstimationConfig
    scale: ChannelScale
    autoencoder: ChannelAutoencoder
    tracker: LatentTracker

    def pilots(self) -> PilotDesign:
        c = self.config
        return pilot_design(c.num_bs_antennas, c.num_ue_antennas, c.pilots_bs, c.pilots_ue, c.pilot_seed)

    def estimate(self, Y_raw: np.ndarray) -> np.ndarray:
        """Received pilots of one sequence in volts (T, M_B, M_U), eq. (1) with the config's transmit power ->
        Ĥ (T, N_B, N_U) in the channel's own units."""
        return estimate_proposed(self.autoencoder, self.tracker,
                                 Y_raw / self.scale.volts_per_unit(self.config.tx_power_dbm)) * self.scale.scale


def save_estimator(estimator: ChannelEstimator, folder: Path, extra: dict | None = None) -> dict[str, str]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(estimator.autoencoder.state_dict(), folder / AUTOENCODER)
    torch.save(estimator.tracker.state_dict(), folder / TRACKER)
    desc = {"config": estimator.config.to_dict(), "channel_scale": estimator.scale.scale,
            "noise_variance": estimator.scale.noise_variance, **(extra or {})}
    (folder / DESCRIPTION).write_text(json.dumps(desc, indent=2))
    # the keys are the pyfunc's artifact names (ChannelEstimatorPyfuncModel.load_context)
    return {"autoencoder": str(folder / AUTOENCODER), "tracker": str(folder / TRACKER),
            "description": str(folder / DESCRIPTION)}


def load_estimator(folder: Path) -> ChannelEstimator:
    folder = Path(folder)
    return load_estimator_files(folder / AUTOENCODER, folder / TRACKER, folder / DESCRIPTION)


def load_estimator_files(autoencoder_path: Path | str, tracker_path: Path | str, description_path: Path | str
                         ) -> ChannelEstimator:
    """The estimator from its three files (``save_estimator``'s), wherever each lies (an MLflow model's)."""
    desc = json.loads(Path(description_path).read_text())
    config = ChannelEstimationConfig.from_dict(desc["config"])
    autoencoder, tracker = ChannelAutoencoder(config), LatentTracker(config)
    autoencoder.load_state_dict(torch.load(autoencoder_path, map_location="cpu", weights_only=True))
    tracker.load_state_dict(torch.load(tracker_path, map_location="cpu", weights_only=True))
    autoencoder.eval()
    tracker.eval()
    return ChannelEstimator(config, ChannelScale(float(desc["channel_scale"]), float(desc["noise_variance"])),
                            autoencoder, tracker)


def pilots_frame(Y_raw: np.ndarray, sequence_id: str = "0"):
    """Received pilots of one sequence (T, M_B, M_U) complex, volts -> the pyfunc's input: one row per time step
    with ``sequence_id``, ``y_real`` and ``y_imag`` (the M_B x M_U matrix row-major, as lists)."""
    import pandas as pd

    flat = np.asarray(Y_raw).reshape(len(Y_raw), -1)
    return pd.DataFrame({"sequence_id": sequence_id, "y_real": list(flat.real.astype(np.float64)),
                         "y_imag": list(flat.imag.astype(np.float64))})


try:  # the pyfunc flavour is optional at import time (models/ stays usable without MLflow)
    import mlflow.pyfunc

    class ChannelEstimatorPyfuncModel(mlflow.pyfunc.PythonModel):
        """MLflow pyfunc: received pilots (``pilots_frame``: one row per time step, rows of a sequence in time
        order) -> Ĥ per row as ``h_real`` / ``h_imag`` lists (N_B x N_U row-major, the channel's own units)."""

        def load_context(self, context):
            a = context.artifacts
            self.estimator = load_estimator_files(a["autoencoder"], a["tracker"], a["description"])

        def predict(self, context, model_input, params=None):
            import pandas as pd

            c = self.estimator.config
            rows = []
            for sid, part in model_input.groupby("sequence_id", sort=False):
                Y = (np.stack(part["y_real"].to_numpy()) + 1j * np.stack(part["y_imag"].to_numpy()))
                H = self.estimator.estimate(Y.reshape(len(part), c.pilots_bs, c.pilots_ue)).reshape(len(part), -1)
                rows.append(pd.DataFrame({"sequence_id": sid, "h_real": list(H.real.astype(np.float64)),
                                          "h_imag": list(H.imag.astype(np.float64))}, index=part.index))
            return pd.concat(rows)
except ImportError:  # pragma: no cover
    ChannelEstimatorPyfuncModel = None
