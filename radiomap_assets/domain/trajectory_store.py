"""Recovered trajectories as Parquet files an analyst opens with pandas alone.

One file per campaign, ``<root>/<campaign_id>.parquet``, replaced atomically (temporary file, then rename) every time
the campaign's trajectories are recovered again: one row per sample with ``trajectory_id``, ``t_s``, ``x_m``,
``y_m`` (p̂, eq. (14)), ``cell`` (eq. (17)) and its centre, and the model that recovered it (``model_name``,
``model_version``, ``mlflow_run_id``). Units and the coordinate frame are in the file's attributes
(``pandas.read_parquet(path).attrs``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from radiomap_assets.domain.beam_map_store import FRAME
from radiomap_assets.domain.model_reference import ModelReference

COLUMNS = ("campaign_id", "trajectory_id", "t_s", "x_m", "y_m", "cell", "cell_x_m", "cell_y_m", "model_name",
           "model_version", "mlflow_run_id")
UNITS = {"t_s": "s", "x_m": "m", "y_m": "m", "cell": "1", "cell_x_m": "m", "cell_y_m": "m"}


def trajectories_path(root: Path, campaign_id: str) -> Path:
    return Path(root) / f"{campaign_id}.parquet"


def write_recovered_trajectories(frame: pd.DataFrame, root: Path, campaign_id: str, model: ModelReference) -> Path:
    """Write the recovered trajectories of ``campaign_id`` (columns trajectory_id, t_s, x_m, y_m, cell, cell_x_m,
    cell_y_m) with the model reference ``model`` (registered_model_name, model_version, mlflow_run_id, model_uri).
    Returns the file's path."""
    out = frame.assign(campaign_id=campaign_id, trajectory_id=frame["trajectory_id"].astype(str),
                       cell=frame["cell"].astype("int64"), model_name=str(model.registered_model_name),
                       model_version=str(model.model_version), mlflow_run_id=str(model.mlflow_run_id))
    out = out[list(COLUMNS)].reset_index(drop=True)
    out.attrs = {"units": UNITS, "coordinate_frame": FRAME, "model_uri": str(model.model_uri),
                 "content": "recovered trajectory per sample: p̂ (x_m, y_m, eq. (14)) and the most likely grid cell "
                            "(eq. (17)); no location label was used"}
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = trajectories_path(root, campaign_id)
    tmp = root / f".{final.name}.{uuid.uuid4().hex[:8]}"
    try:
        out.to_parquet(tmp, index=False)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final
