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
        amplitude = np.sqrt(10.0 ** ((self.config.tx_power_dbm - 30.0) / 10.0)) * self.scale.scale
        return estimate_proposed(self.autoencoder, self.tracker, Y_raw / amplitude) * self.scale.scale


def save_estimator(estimator: ChannelEstimator, folder: Path, extra: dict | None = None) -> dict[str, str]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(estimator.autoencoder.state_dict(), folder / AUTOENCODER)
    torch.save(estimator.tracker.state_dict(), folder / TRACKER)
    desc = {"config": estimator.config.to_dict(), "channel_scale": estimator.scale.scale,
            "noise_variance": estimator.scale.noise_variance, **(extra or {})}
    (folder / DESCRIPTION).write_text(json.dumps(desc, indent=2))
    return {name: str(folder / name) for name in (AUTOENCODER, TRACKER, DESCRIPTION)}


def load_estimator(folder: Path) -> ChannelEstimator:
    folder = Path(folder)
    desc = json.loads((folder / DESCRIPTION).read_text())
    config = ChannelEstimationConfig.from_dict(desc["config"])
    autoencoder, tracker = ChannelAutoencoder(config), LatentTracker(config)
    autoencoder.load_state_dict(torch.load(folder / AUTOENCODER, map_location="cpu", weights_only=True))
    tracker.load_state_dict(torch.load(folder / TRACKER, map_location="cpu", weights_only=True))
    autoencoder.eval()
    tracker.eval()
    return ChannelEstimator(config, ChannelScale(float(desc["channel_scale"]), float(desc["noise_variance"])),
                            autoencoder, tracker)
