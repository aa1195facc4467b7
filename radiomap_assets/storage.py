"""Reading campaign-partitioned asset values outside the IO manager's load path.

The training asset trains on a *selection* of campaign partitions (only those that were materialized: a
quarantined campaign has a partition but no value), so it reads them itself from the FilesystemIOManager layout
``<storage>/<asset name>/<partition>`` and records a content hash of each as its data version.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from radiomap_assets.domain.campaign import campaign_id_problem
from radiomap_assets.profiles import home_layout


def partition_path(asset_name: str, partition: str) -> Path:
    """Where the IO manager keeps ``asset_name``'s value for ``partition``; a key that could name a path outside the
    asset's folder (``../x``, ``a/b``) is refused before any file is touched."""
    problem = campaign_id_problem(partition)
    if problem is not None:
        raise ValueError(f"partition key {problem}")
    return home_layout().storage / asset_name / partition


def load_partition(asset_name: str, partition: str):
    path = partition_path(asset_name, partition)
    if not path.exists():
        raise FileNotFoundError(f"{asset_name} has no stored value for campaign {partition!r} ({path})")
    with open(path, "rb") as f:
        return pickle.load(f)


def load_site_asset(asset_name: str, site: str):
    """The stored value of a site-partitioned asset (e.g. ``beam_map_model``, ``site_grid``) for ``site``."""
    path = partition_path(asset_name, site)
    if not path.is_file():
        raise FileNotFoundError(f"{asset_name} has no stored value for site {site!r} ({path}): materialize its "
                                f"{site} partition first")
    with open(path, "rb") as f:
        return pickle.load(f)


def content_version(asset_name: str, partition: str) -> str:
    return hashlib.sha1(partition_path(asset_name, partition).read_bytes()).hexdigest()[:12]


def materialized_campaigns(instance: DagsterInstance, *asset_names: str) -> list[str]:
    """Campaign partitions that every named asset has materialized (and whose stored value exists)."""
    sets = [set(instance.get_materialized_partitions(AssetKey(name))) for name in asset_names]
    common = set.intersection(*sets) if sets else set()
    return sorted(c for c in common if all(partition_path(n, c).exists() for n in asset_names))


def latest_materialization(instance: DagsterInstance, asset_name: str, partition: str):
    """The newest AssetMaterialization of ``asset_name``'s ``partition`` (None: never materialized)."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(asset_name),
                                                                 asset_partitions=[partition]), limit=1).records
    return records[0].asset_materialization if records else None


def latest_data_version(instance: DagsterInstance, asset_name: str, partition: str) -> str | None:
    """The data version of the newest materialization of ``asset_name``'s ``partition`` (None: never materialized
    or without a data version)."""
    materialization = latest_materialization(instance, asset_name, partition)
    return materialization.tags.get(DATA_VERSION_TAG) if materialization is not None else None
