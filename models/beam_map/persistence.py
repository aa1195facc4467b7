"""Saving and loading the model as plain files (state dict + config + grid), and as an MLflow pyfunc model.

Never pickles a torch module: the state dict and a JSON description are the artifacts; the pyfunc wrapper rebuilds
the network from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from models.beam_map.config import ModelConfig
from models.beam_map.generative_model import GenerativeBeamMapModel

STATE_DICT = "state_dict.pt"
DESCRIPTION = "model.json"


def save_model_files(model: GenerativeBeamMapModel, folder: Path, extra: dict | None = None) -> dict[str, str]:
    """Write state dict and description (config, grid resolution, RNN cell, cell centres) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / STATE_DICT)
    desc = {"config": model.config.to_dict(), "grid_resolution_m": model.grid_resolution_m,
            "rnn_cell": model.rnn_cell, "num_cells": model.codebook.num_cells, **(extra or {})}
    (folder / DESCRIPTION).write_text(json.dumps(desc, indent=2))
    return {"state_dict": str(folder / STATE_DICT), "description": str(folder / DESCRIPTION)}


def load_model_files(state_dict_path: str | Path, description_path: str | Path) -> GenerativeBeamMapModel:
    desc = json.loads(Path(description_path).read_text())
    state = torch.load(state_dict_path, map_location="cpu", weights_only=True)
    cells = state["codebook.cell_centres_m"]
    model = GenerativeBeamMapModel(ModelConfig.from_dict(desc["config"]), cells, float(desc["grid_resolution_m"]),
                                   rnn_cell=desc.get("rnn_cell", "gru"))
    model.load_state_dict(state)
    model.eval()
    return model


try:  # the pyfunc flavour is optional at import time (models/ stays usable without MLflow)
    import mlflow.pyfunc

    class BeamMapPyfuncModel(mlflow.pyfunc.PythonModel):
        """MLflow pyfunc: a DataFrame with one row per sample (columns trajectory_id, g, m; rows of a trajectory in
        time order) -> recovered x_m, y_m and grid cell per row."""

        def load_context(self, context):
            self.model = load_model_files(context.artifacts["state_dict"], context.artifacts["description"])

        def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
            from models.beam_map.training import recover_trajectory

            rows = []
            for tid, part in model_input.groupby("trajectory_id", sort=False):
                g = np.stack(part["g"].to_numpy()).astype(np.float32)
                m = np.stack(part["m"].to_numpy()).astype(bool)
                xy, cells = recover_trajectory(self.model, g, m)
                rows.append(pd.DataFrame({"trajectory_id": tid, "x_m": xy[:, 0], "y_m": xy[:, 1], "cell": cells},
                                         index=part.index))
            return pd.concat(rows)
except ImportError:  # pragma: no cover
    BeamMapPyfuncModel = None
