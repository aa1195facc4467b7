"""The Zarr beam-map store (design 3.2) as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr
from dagster import ConfigurableResource

from radiomap_assets.domain import beam_map_store
from radiomap_assets.profiles import home_layout


class BeamMapStore(ConfigurableResource):
    """Where the beam maps live: ``root``, a folder or an fsspec URL (``s3://bucket/prefix``, ``memory://...``:
    object storage, see ``beam_map_store``'s docstring for what changes there). Empty (the default):
    ``$RADIOMAP_BEAM_MAP_URL`` if set, else ``$RADIOMAP_HOME/beam_maps``."""

    root: str = ""

    def root_path(self) -> Path | str:
        """The root: a Path where it is local, the URL where it is on object storage."""
        if self.root:
            return beam_map_store.as_root(self.root)
        return beam_map_store.configured_root(home_layout().beam_maps)

    def write(self, ds: xr.Dataset, name: str, version: str | None = None) -> Path | str:
        return beam_map_store.write_beam_map(ds, self.root_path(), name, version)

    def latest(self, name: str) -> Path | str:
        return beam_map_store.latest_path(self.root_path(), name)

    def catalogue_path(self, name: str) -> Path | str:
        return beam_map_store.catalogue_location(self.root_path(), name)

    def catalogue(self, name: str) -> pd.DataFrame:
        return beam_map_store.read_catalogue(self.root_path(), name)

    def open_latest(self, name: str, holes_at_noise_floor: bool = True) -> xr.Dataset:
        """The latest version, for the pipeline: ray-traced coverage holes (NaN in the store, ``covered`` = False)
        read as the map's noise floor, what a simulated receiver measures there and what the evaluation scores
        against (``beam_map_store.with_holes_at_noise_floor``). ``holes_at_noise_floor=False``: as stored, what an
        analyst sees."""
        ds = beam_map_store.open_beam_map(self.latest(name))
        return beam_map_store.with_holes_at_noise_floor(ds) if holes_at_noise_floor else ds
