"""A small Python API for analysts (issue 15): a site's beam map by version, list its versions, read one tile.

Plain xarray underneath (the recipe without this module is in the README, "For analysts"); nothing here needs
Dagster or MLflow. Maps are named ``<kind>_<site>``: ``generative`` (the model's decoder) or ``ground_truth`` (the
ray tracer's).

    from radiomap_assets import analyst
    analyst.beam_map_versions("san_francisco")                        # one row per version written
    ds = analyst.open_beam_map("san_francisco")                       # latest
    ds = analyst.open_beam_map("san_francisco", version="model:3")    # the newest map of MLflow model version 3
    tile = analyst.read_tile("san_francisco", x_m=(0, 200), y_m=(-100, 100), bs=0)  # loads only that window
    ds = analyst.open_beam_map("san_francisco", root="s3://bucket/beam_maps")  # maps on object storage

Where the maps are: ``root`` (a folder or an fsspec URL) if given, else ``<home>/beam_maps``, else
``$RADIOMAP_BEAM_MAP_URL``, else ``$RADIOMAP_HOME/beam_maps``, as the pipeline's ``BeamMapStore`` resolves it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from radiomap_assets.domain import beam_map_store
from radiomap_assets.profiles import home_layout

MAP_KINDS = ("generative", "ground_truth")


def _root(home: str | Path | None, root: str | Path | None = None) -> Path | str:
    if root is not None:
        return beam_map_store.as_root(root)
    return Path(home) / "beam_maps" if home is not None else beam_map_store.configured_root(home_layout().beam_maps)


def _name(site: str, kind: str) -> str:
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
    return f"{kind}_{site}"


def beam_map_versions(site: str, kind: str = "generative", home: str | Path | None = None,
                      root: str | Path | None = None) -> pd.DataFrame:
    """Every version of the site's map, in write order (the last row is ``latest``): version, written_at, model
    name and version, MLflow and Dagster run ids, profile, campaigns, path."""
    return beam_map_store.read_catalogue(_root(home, root), _name(site, kind))


def beam_map_path(site: str, version: str = "latest", kind: str = "generative",
                  home: str | Path | None = None, root: str | Path | None = None) -> Path | str:
    """The store of ``version`` (a Path, or a URL on object storage): ``latest``, a version id from
    ``beam_map_versions`` (``v2026...``), or ``model:<n>``, the newest map decoded by MLflow model version n."""
    root, name = _root(home, root), _name(site, kind)
    if version.startswith("model:"):
        catalogue = beam_map_store.read_catalogue(root, name)
        model_versions = catalogue["model_version"].astype(str)
        rows = catalogue[model_versions == version.split(":", 1)[1]]
        if rows.empty:
            raise FileNotFoundError(f"no {name} map of {version}; model versions with maps: "
                                    f"{sorted(set(model_versions))}")
        version = str(rows["version"].iloc[-1])
    return beam_map_store.version_path(root, name, version)


def open_beam_map(site: str, version: str = "latest", kind: str = "generative",
                  home: str | Path | None = None, root: str | Path | None = None) -> xr.Dataset:
    """The map as a lazy ``xarray.Dataset`` (as stored: NaN where it has no value, the flags say why)."""
    return beam_map_store.open_beam_map(beam_map_path(site, version, kind, home, root))


def read_tile(site: str, x_m: tuple[float, float], y_m: tuple[float, float], version: str = "latest",
              kind: str = "generative", bs: int | None = None, beam: int | None = None,
              variable: str = "power_dbm", home: str | Path | None = None,
              root: str | Path | None = None) -> xr.DataArray:
    """``variable`` on the cells whose centres lie in [x_m] x [y_m] (metres, the map's frame), for base station
    ``bs`` (an id, as in the manifest) and ``beam`` (None: all), loaded into memory; only the chunks the window
    touches are read."""
    ds = open_beam_map(site, version, kind, home, root)
    if x_m[0] > x_m[1] or y_m[0] > y_m[1]:
        raise ValueError(f"empty window x {x_m}, y {y_m}")
    da = ds[variable].sel(x=slice(*x_m), y=slice(*y_m))
    if bs is not None:
        da = da.sel(bs=bs)
    if beam is not None:
        da = da.sel(beam=beam)
    return da.load()


def campaign_model_input(folder: str | Path) -> pd.DataFrame:
    """A campaign folder as it lands (manifest.json + measurements.parquet, any contract variant) turned into the
    registered model's input: ``mlflow.pyfunc.load_model("models:/generative_beam_map_<site>@champion")
    .predict(campaign_model_input(folder))`` recovers its trajectories outside the pipeline. The campaign is validated
    (``CampaignValidationError`` names the rule it breaks); a relative-dB campaign without a reference is placed at its
    site's level, as ingestion does."""
    from radiomap_assets.domain import campaign as contract
    from radiomap_assets.domain.measurement import masked_sparse_csi, model_input_frame
    from radiomap_assets.sites import get_site

    campaign = contract.load_campaign(Path(folder))
    if not campaign.power_level_known:
        campaign = contract.align_power_level(campaign, get_site(campaign.manifest["site"]).reference_p95_power_dbm)
    csi = masked_sparse_csi(campaign.measurements, campaign.bs_ids, campaign.num_beams)
    return model_input_frame(csi.trajectory_id, csi.g, csi.m)  # rows in time order within a trajectory
