"""What several asset modules share (no asset is defined here): the campaign partitions, the names of stored
beam maps, the model inputs read back from the ingestion assets. Asset modules import from here and from the
plain packages, never from each other (tests/test_layout.py and the import-linter contracts check it)."""

from __future__ import annotations

import pandas as pd
from dagster import DynamicPartitionsDefinition

from models.beam_map.training import TrajectoryData, split_trajectories
from radiomap_assets import storage
from radiomap_assets.domain.measurement import MaskedSparseCSI
from resources import SionnaScene

campaign_partitions = DynamicPartitionsDefinition(name="campaigns")


def ground_truth_map_name(scene: SionnaScene) -> str:
    return f"ground_truth_{scene.site.name}"


def load_training_data(campaigns: list[str], coarse_asset: str = "coarse_locations") -> list[TrajectoryData]:
    """Per trajectory of the campaigns: masked sparse CSI, time stamps and the coarse locations of ``coarse_asset``:
    ``coarse_locations`` (production, label-free weighted centroid; what the model group trains on) or
    ``paper_protocol_coarse_locations`` (evaluation: ground truth + noise, the paper's tables)."""
    data = []
    for cid in campaigns:
        csi: MaskedSparseCSI = storage.load_partition("masked_sparse_csi", cid)
        coarse: pd.DataFrame = storage.load_partition(coarse_asset, cid)
        if len(coarse) != csi.num_samples or not (coarse["t_s"].to_numpy() == csi.t_s).all():
            raise ValueError(f"{coarse_asset} and masked_sparse_csi of {cid} are not aligned; rematerialize both")
        data += split_trajectories(csi.trajectory_id, csi.g, csi.m, csi.t_s, coarse[["x_m", "y_m"]].to_numpy(),
                                   prefix=f"{cid}/")
    return data
