"""The Zarr beam-map contract of design 3.2: build the xarray Dataset, write it atomically, keep a ``latest`` alias.

Layout on disk: ``<root>/<name>/<version>.zarr`` plus ``<root>/<name>/latest.zarr`` (a symbolic link replaced
atomically) and ``<root>/<name>/LATEST`` (the version, as text, for file systems without links). Analysts need only
xarray and zarr: ``xarray.open_zarr("<root>/<name>/latest.zarr")``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from radiomap_assets.domain.grid import Grid

CHUNK_CELLS = 128  # cells per chunk side: at 2.5-5 m that is 320-640 m square, one base station per read


def beam_map_dataset(power_dbm: np.ndarray, grid: Grid, base_stations: list[dict], valid: np.ndarray,
                     attrs: dict, power_std_db: np.ndarray | None = None,
                     extra: dict[str, tuple[tuple[str, ...], np.ndarray, dict]] | None = None) -> xr.Dataset:
    """A beam map as an xarray Dataset with dims (bs, beam, y, x).

    power_dbm (N_b, |W|, ny, nx); valid (ny, nx) bool (cells where users can be); cells that are not valid are NaN
    in every power array. ``extra`` adds variables as {name: (dims, array, attrs)}.
    """
    n_b, n_w, ny, nx = power_dbm.shape
    if (ny, nx) != grid.shape:
        raise ValueError(f"power_dbm grid {(ny, nx)} does not match {grid.shape}")
    if len(base_stations) != n_b:
        raise ValueError(f"{len(base_stations)} base stations for {n_b} maps")
    invalid = ~valid.astype(bool)
    power = np.where(invalid[None, None], np.nan, power_dbm).astype(np.float32)
    data_vars = {
        "power_dbm": (("bs", "beam", "y", "x"), power,
                      {"units": "dBm", "long_name": "received power E|h w_j|^2 P_t per beam (eq. (2))"}),
        "valid": (("y", "x"), valid.astype(bool), {"units": "1", "long_name": "cell where a user can be"}),
    }
    if power_std_db is not None:
        std = np.where(invalid[None, None], np.nan, power_std_db).astype(np.float32)
        data_vars["power_std_db"] = (("bs", "beam", "y", "x"), std,
                                     {"units": "dB", "long_name": "spread of power_dbm over diffusion samples"})
    for name, (dims, arr, a) in (extra or {}).items():
        data_vars[name] = (dims, arr, a)
    coords = {
        "x": ("x", grid.x_centres.astype(np.float64), {"units": "m", "long_name": "cell centre x"}),
        "y": ("y", grid.y_centres.astype(np.float64), {"units": "m", "long_name": "cell centre y"}),
        "bs": ("bs", np.array([b["bs_id"] for b in base_stations], dtype=np.int64), {"long_name": "base station id"}),
        "beam": ("beam", np.arange(n_w, dtype=np.int64), {"long_name": "DFT codebook beam index j"}),
    }
    for key in ("x_m", "y_m", "z_m", "yaw_deg"):
        unit = "deg" if key.endswith("deg") else "m"
        coords[f"bs_{key}"] = ("bs", np.array([b[key] for b in base_stations], dtype=np.float64), {"units": unit})
    ds = xr.Dataset(data_vars=data_vars, coords=coords)
    ds.attrs.update({"grid_resolution_m": grid.resolution_m,
                     "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), **attrs})
    return ds


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for name, var in ds.data_vars.items():
        chunks = tuple(1 if d == "bs" else (CHUNK_CELLS if d in ("x", "y") else size)
                       for d, size in zip(var.dims, var.shape))
        enc[name] = {"chunks": tuple(min(c, s) for c, s in zip(chunks, var.shape))}
    return enc


def write_beam_map(ds: xr.Dataset, root: Path, name: str, version: str | None = None) -> Path:
    """Write ``ds`` to ``<root>/<name>/<version>.zarr`` atomically (temporary path, then rename) and point
    ``latest`` at it. Returns the version's path."""
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    version = version or datetime.now(timezone.utc).strftime("v%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    final = folder / f"{version}.zarr"
    if final.exists():
        raise FileExistsError(f"beam map version {final} exists; versions are never overwritten")
    tmp = folder / f".{version}.zarr.tmp-{uuid.uuid4().hex[:8]}"
    try:
        ds.attrs["version"] = version
        ds.to_zarr(tmp, mode="w", encoding=_encoding(ds), consolidated=True, zarr_format=3)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    link_tmp = folder / f".latest.{uuid.uuid4().hex[:8]}"
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, folder / "latest.zarr")
    text_tmp = folder / f".LATEST.{uuid.uuid4().hex[:8]}"
    text_tmp.write_text(version + "\n")
    os.replace(text_tmp, folder / "LATEST")
    return final


def latest_path(root: Path, name: str) -> Path:
    """The version ``latest`` points to; FileNotFoundError if none was written."""
    folder = Path(root) / name
    marker = folder / "LATEST"
    if not marker.exists():
        raise FileNotFoundError(f"no beam map written under {folder}")
    return folder / f"{marker.read_text().strip()}.zarr"


def open_beam_map(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, consolidated=True)
