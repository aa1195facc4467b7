"""What several asset modules share (no asset is defined here): the campaign and site partitions, the names of
stored beam maps, the model inputs read back from the ingestion assets. Asset modules import from here and from the
plain packages, never from each other (tests/test_layout.py and the import-linter contracts check it)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from dagster import DynamicPartitionsDefinition, StaticPartitionsDefinition

from models.beam_map.training import TrajectoryData, split_trajectories
from radiomap_assets import storage
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.measurement import MaskedSparseCSI
from radiomap_assets.domain.simulation import campaign_kind
from radiomap_assets.profiles import home_layout
from radiomap_assets.sites import get_site, site_names

campaign_partitions = DynamicPartitionsDefinition(name="campaigns")
# one partition per site (radiomap_assets.sites): the site's simulation, grid, model, beam map and evaluation. A
# campaign (its own dynamic partition) declares its site in its manifest and feeds only that site's partitions
site_partitions = StaticPartitionsDefinition(list(site_names()))
# one partition per measured complex-CSI campaign landed under landing_csi/<id>.zarr (issue 13)
csi_campaign_partitions = DynamicPartitionsDefinition(name="csi_campaigns")


def ground_truth_map_name(site: str) -> str:
    return f"ground_truth_{site}"


def generative_map_name(site: str) -> str:
    return f"generative_{site}"


def campaign_site(campaign_id: str) -> str:
    """The site an ingested campaign declares, checked against the known sites. Read from the accepted campaign's
    manifest (a few hundred bytes), not from the stored raw_channel_measurements, which holds every measurement row
    (250 MB for the default random campaign) and is asked for once per campaign by every site-level asset."""
    path = home_layout().accepted / campaign_id / contract.MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"campaign {campaign_id!r} has no accepted manifest ({path}): ingest it first")
    site = str(json.loads(path.read_text()).get("site", ""))
    get_site(site)
    return site


def simulated_kind(campaign_id: str) -> str | None:
    """The simulated kind of an ingested campaign (uniform, random, complex, uniform_m<M>): the one its id names
    (``<site>-<kind>-<version>``) when its manifest says the simulator wrote it with that kind, else None. A landed
    campaign whose id merely looks like a simulated one never takes an experiment's place."""
    kind = campaign_kind(campaign_id)
    if kind is None:
        return None
    path = home_layout().accepted / campaign_id / contract.MANIFEST
    declared = json.loads(path.read_text()).get("simulation") if path.is_file() else None
    return kind if isinstance(declared, dict) and declared.get("kind") == kind else None


def campaigns_of_site(campaigns: list[str], site: str) -> list[str]:
    """The campaigns among ``campaigns`` that declare ``site``."""
    return [c for c in campaigns if campaign_site(c) == site]


def load_training_data(campaigns: list[str], coarse_asset: str = "coarse_locations") -> list[TrajectoryData]:
    """Per trajectory of the campaigns: masked sparse CSI, time stamps and the coarse locations of ``coarse_asset``:
    ``coarse_locations`` (production, label-free, the geometric locator by default; what the model group trains on),
    ``centroid_coarse_locations`` (evaluation: the weighted centroid, label-free) or
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


def without_coarse_locations(data: list[TrajectoryData]) -> tuple[list[TrajectoryData], list[str]]:
    """Trajectories that have coarse locations, and the ids of those that have none (their campaign's base stations
    cannot give one, domain.localization.coarse_location_problem): L_c (eq. (3)) cannot train on those."""
    located = [bool(np.isfinite(d.coarse_xy).all()) for d in data]
    return ([d for d, ok in zip(data, located) if ok], [d.trajectory_id for d, ok in zip(data, located) if not ok])
