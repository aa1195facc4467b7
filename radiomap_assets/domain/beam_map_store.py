"""The Zarr beam-map contract of design 3.2: build the xarray Dataset, write it atomically, keep a ``latest`` alias
and a catalogue of every version.

Layout on disk, under ``<root>/<name>/``:

- ``<version>.zarr``: one Zarr **format 3** store per version (zarr-python >= 3 reads it; consolidated metadata),
  never overwritten;
- ``latest.zarr`` (a symbolic link replaced atomically) and ``LATEST`` (the version, as text, for file systems
  without links): ``latest`` is always the version written last. ``LATEST`` is the commit point, written before the
  catalogue row and the link; a write killed in between leaves those behind, and the next write (``repair``, under
  the folder's lock) brings them level and removes temporary stores of killed writes older than an hour. We keep
  this plain layout rather than a transactional store (Icechunk): analysts open it with xarray and zarr alone, and
  one commit point plus a repair step gives the one guarantee we need, a ``latest`` that never names a half-written
  version;
- ``catalogue.parquet``: one row per version written (version, written_at, map name, site, model name, MLflow
  model version and run id, Dagster run id, profile, campaigns, path relative to this folder, zarr_format),
  replaced atomically on every write, in write order: its last row is ``latest``.

The Dataset is self-describing in CF style (``Conventions`` = CF-1.10): units and long names on every variable,
flags with ``flag_values`` / ``flag_meanings``, no fake values (a cell without a value is NaN and a flag says why),
x / y in a documented local Cartesian frame (the scalar coordinate ``crs``), beams with their steering angles.
Analysts need only xarray and zarr: ``xarray.open_zarr("<root>/<name>/latest.zarr")``.

**Object storage.** ``root`` may also be an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``;
``file://`` URLs and plain paths are local and keep everything above), chosen by configuration alone
(``BeamMapStore.root`` or ``$RADIOMAP_BEAM_MAP_URL``, see ``configured_root``); credentials come the usual fsspec way
(the environment, ``~/.aws``, ``FSSPEC_<PROTOCOL>_<OPTION>`` variables). The layout and the stores are the same, the
writes differ where object storage has no rename, no symbolic links and no locks: the version store is written in
place through fsspec (Zarr format 3, consolidated; ``mode="w-"``, so never over another version), then the
catalogue (one object, replaced whole), then ``LATEST`` last, the commit point. There is no ``latest.zarr`` (read
``LATEST``, or use ``version_path(root, name)``), no lock and no ``repair``: in that order a killed write leaves at
most an unlisted version store (or a catalogue row one version ahead of ``LATEST``) and ``LATEST`` never names a
version that is missing or unlisted. Concurrent writers of one map are last-writer-wins for ``LATEST`` and the
catalogue (a row of the loser can be lost; its store stays, readable by version, since versions are unique and a
store is never overwritten): run one writer per map (Dagster materializes one partition at a time).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import xarray as xr

from radiomap_assets.domain.codebook import beam_angles_deg, planar_beam_directions
from radiomap_assets.domain.grid import Grid

# Our stores carry consolidated metadata on purpose (one read opens a store; zarr-python and xarray write and read it
# for format 3 as well); zarr warns on every write and open that it is not in the format-3 specification yet. Said
# once here and in the README, not on every line of a run's output.
warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part in the Zarr format 3")

CHUNK_CELLS = 128  # cells per chunk side: at 2.5-5 m that is 320-640 m square, one base station per read
CONVENTIONS = "CF-1.10"
ZARR_FORMAT = 3
CATALOGUE = "catalogue.parquet"
BEAM_MAP_URL_ENV = "RADIOMAP_BEAM_MAP_URL"  # the beam-map root (a folder or an fsspec URL) when none is configured
CATALOGUE_COLUMNS = ("version", "written_at", "name", "site", "model_name", "model_version", "mlflow_run_id",
                     "dagster_run_id", "profile", "campaigns", "path", "zarr_format")
FRAME = ("local Cartesian site frame (ENU): x east, y north, z up, metres, origin = the scene's origin; not "
         "georeferenced (the scene carries no geographic anchor)")


def flag_attrs(long_name: str, meanings: str) -> dict:
    """CF attributes of a boolean mask (stored as 0 / 1): ``meanings`` names 0 then 1, e.g. "not_walkable walkable"."""
    return {"units": "1", "long_name": long_name, "flag_values": [0, 1], "flag_meanings": meanings}


def frame_attrs(site: str) -> dict:
    """The scalar ``crs`` coordinate's attributes: the local site frame as a WKT2 engineering CRS and in words.

    For the bundled Sionna RT scenes (OpenStreetMap exports) x points east and y north: checked on san_francisco,
    where City Lights Booksellers lies 532 m south and 64 m west of Coit Tower, as on a map."""
    wkt = (f'ENGCRS["{site} site frame (local ENU)",EDATUM["{site} scene origin"],CS[Cartesian,2],'
           'AXIS["easting (x)",east,ORDER[1],LENGTHUNIT["metre",1]],'
           'AXIS["northing (y)",north,ORDER[2],LENGTHUNIT["metre",1]]]')
    return {"long_name": "coordinate frame of x, y and the base-station positions", "units": "1",
            "crs_wkt": wkt, "frame": FRAME, "georeferenced": "no",
            "vertical": "z in metres above the scene's z = 0 (no vertical datum)",
            "angles": "azimuths counterclockwise from +x (east) in degrees; bearings clockwise from north"}


def beam_map_dataset(power_dbm: np.ndarray, grid: Grid, base_stations: list[dict], valid: np.ndarray,
                     attrs: dict, power_std_db: np.ndarray | None = None,
                     extra: dict[str, tuple[tuple[str, ...], np.ndarray, dict]] | None = None,
                     beam_directions: np.ndarray | None = None) -> xr.Dataset:
    """A beam map as an xarray Dataset with dims (bs, beam, y, x).

    power_dbm (N_b, |W|, ny, nx), NaN where the map has no value (the caller flags why in ``extra``: a coverage
    hole, a cell the model never visited); valid (ny, nx) bool (cells where users can be); cells that are not
    valid are NaN in every power array. ``extra`` adds variables as {name: (dims, array, attrs)}; those with
    ``flag_meanings`` are listed as ancillary variables of the power arrays. Base stations need ``bs_id``,
    ``x_m``, ``y_m``, ``z_m`` and ``yaw_deg`` (array boresight, counterclockwise from +x); each beam gets its
    steering angle (``codebook.beam_steering_deg``) and, per base station, its azimuth and bearing.
    ``beam_directions`` (|W|, 2): the direction cosines (u_j, v_j) of a campaign's codebook
    (``codebook.codebook_beam_directions``); None = the DFT codebook (``attrs["beams_vertical"]`` x the rest).
    """
    n_b, n_w, ny, nx = power_dbm.shape
    if (ny, nx) != grid.shape:
        raise ValueError(f"power_dbm grid {(ny, nx)} does not match {grid.shape}")
    if len(base_stations) != n_b:
        raise ValueError(f"{len(base_stations)} base stations for {n_b} maps")
    site = str(attrs.get("site", attrs.get("scene", "site")))
    invalid = ~valid.astype(bool)
    power = np.where(invalid[None, None], np.nan, power_dbm).astype(np.float32)
    flags = ["valid"] + [k for k, (_, _, a) in (extra or {}).items() if "flag_meanings" in a]
    data_vars = {
        "power_dbm": (("bs", "beam", "y", "x"), power,
                      {"units": "dBm", "long_name": "received power E|h w_j|^2 P_t per beam (eq. (2))",
                       "comment": "NaN where the map has no value: see the flags in ancillary_variables"}),
        "valid": (("y", "x"), valid.astype(bool), flag_attrs("cell where a user can be", "not_walkable walkable")),
    }
    if power_std_db is not None:
        std = np.where(invalid[None, None], np.nan, power_std_db).astype(np.float32)
        data_vars["power_std_db"] = (("bs", "beam", "y", "x"), std,
                                     {"units": "dB", "long_name": "spread of power_dbm over diffusion samples"})
    for name, (dims, arr, a) in (extra or {}).items():
        data_vars[name] = (dims, arr, dict(a))
    for name, (dims, _, a) in data_vars.items():
        if name.startswith("power_"):
            a["ancillary_variables"] = " ".join(flags)
        if "x" in dims and "y" in dims:
            a["grid_mapping"] = "crs"
    yaw = np.array([b["yaw_deg"] for b in base_stations], dtype=np.float64)
    # a 2-D DFT codebook (a URA: the indoor hall) says so in attrs: beams_vertical x beams_horizontal = |W|
    beams_vertical = int(attrs.get("beams_vertical", 1))
    if n_w % beams_vertical:
        raise ValueError(f"{n_w} beams do not split into {beams_vertical} vertical beams")
    uv = planar_beam_directions(beams_vertical, n_w // beams_vertical) if beam_directions is None \
        else np.asarray(beam_directions, dtype=np.float64)  # (|W|, 2)
    if uv.shape != (n_w, 2):
        raise ValueError(f"beam_directions {uv.shape} for {n_w} beams")
    steering_deg, elevation_deg = beam_angles_deg(uv)
    azimuth = (yaw[:, None] + steering_deg[None, :] + 180.0) % 360.0 - 180.0  # (N_b, |W|)
    bs_ids = np.array([b["bs_id"] for b in base_stations], dtype=np.int64)
    coords = {
        "x": ("x", grid.x_centres.astype(np.float64),
              {"units": "m", "long_name": "cell centre easting in the site frame",
               "standard_name": "projection_x_coordinate", "axis": "X"}),
        "y": ("y", grid.y_centres.astype(np.float64),
              {"units": "m", "long_name": "cell centre northing in the site frame",
               "standard_name": "projection_y_coordinate", "axis": "Y"}),
        "bs": ("bs", bs_ids, {"units": "1", "long_name": "base station id"}),
        "bs_id": ("bs", bs_ids.copy(), {"units": "1", "long_name": "base station id (as in the campaign manifest)"}),
        "beam": ("beam", np.arange(n_w, dtype=np.int64), {"units": "1", "long_name": "codebook beam index j"}),
        "beam_direction_cosine": ("beam", uv[:, 0],
                                  {"units": "1", "long_name": "u_j = sin(steering angle) cos(elevation) of beam j "
                                                            "(horizontal direction cosine)"}),
        "beam_vertical_direction_cosine": ("beam", uv[:, 1],
                                           {"units": "1", "long_name": "v_j = sin(elevation) of beam j (0 for a "
                                                                     "horizontal ULA's codebook)"}),
        "beam_elevation_deg": ("beam", elevation_deg,
                               {"units": "degree", "long_name": "elevation beam j steers at, above the array's "
                                                               "horizontal plane (arcsin v_j)"}),
        "beam_steering_deg": ("beam", steering_deg,
                              {"units": "degree", "long_name": "steering angle of beam j from the array boresight, "
                                                              "counterclockwise seen from above (arcsin u_j)",
                               "comment": "isotropic elements: the ULA radiates the same beam mirrored about its "
                                          "axis too (180 degree - angle)"}),
        "beam_azimuth_deg": (("bs", "beam"), azimuth,
                             {"units": "degree", "long_name": "azimuth beam j of base station bs points at, "
                                                             "counterclockwise from +x (east): bs_yaw_deg + "
                                                             "beam_steering_deg"}),
        "beam_bearing_deg": (("bs", "beam"), (90.0 - azimuth) % 360.0,
                             {"units": "degree", "long_name": "bearing beam j of base station bs points at, "
                                                             "clockwise from north (y)"}),
        "crs": ((), np.int8(0), frame_attrs(site)),
    }
    long_names = {"x_m": "base station easting", "y_m": "base station northing", "z_m": "base station height",
                  "yaw_deg": "array boresight azimuth, counterclockwise from +x (east)"}
    for key, long_name in long_names.items():
        unit = "degree" if key.endswith("deg") else "m"
        coords[f"bs_{key}"] = ("bs", np.array([b[key] for b in base_stations], dtype=np.float64),
                               {"units": unit, "long_name": long_name})
    ds = xr.Dataset(data_vars=data_vars, coords=coords)
    ds.attrs.update({"Conventions": CONVENTIONS, "zarr_format": ZARR_FORMAT,
                     "zarr_requirement": "Zarr format 3 store with consolidated metadata: zarr-python >= 3 and a "
                                         "recent xarray read it (xarray.open_zarr)",
                     "coordinate_frame": FRAME, "grid_resolution_m": grid.resolution_m,
                     "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "references": "Chen, Chen, Cui: Generative MIMO Beam Map Construction for Location Recovery "
                                   "and Beam Tracking (equation numbers in long names)", **attrs})
    return ds


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for name, var in ds.data_vars.items():
        chunks = tuple(1 if d == "bs" else (CHUNK_CELLS if d in ("x", "y") else size)
                       for d, size in zip(var.dims, var.shape))
        enc[name] = {"chunks": tuple(min(c, s) for c, s in zip(chunks, var.shape))}
    return enc


# ------------------------------------------------------------------- where a map lives: a folder or an fsspec URL

def is_remote(root: Path | str) -> bool:
    """Whether ``root`` is an fsspec URL of a non-local filesystem (``s3://``, ``gs://``, ``memory://``, ...);
    plain paths and ``file://`` URLs are local."""
    return not isinstance(root, Path) and "://" in root and fsspec.utils.get_protocol(root) not in ("file", "local")


def as_root(root: Path | str) -> Path | str:
    """A root as the store uses it: a Path where it is local (``file://`` stripped), the URL where it is not."""
    if is_remote(root):
        return str(root).rstrip("/")
    root = str(root)
    return Path(fsspec.core.url_to_fs(root)[1] if root.startswith("file://") else root)


def configured_root(default: Path | str) -> Path | str:
    """The root configuration names: ``$RADIOMAP_BEAM_MAP_URL`` (a folder or an fsspec URL) if set, else
    ``default``."""
    return as_root(os.environ.get(BEAM_MAP_URL_ENV) or default)


def map_folder(root: Path | str, name: str) -> Path | str:
    """``<root>/<name>``, the folder of one map's versions: a Path, or a URL on object storage."""
    return _entry(as_root(root), name)


def _entry(folder: Path | str, entry: str) -> Path | str:
    return folder / entry if isinstance(folder, Path) else f"{folder}/{entry}"


def _exists(location: Path | str) -> bool:
    if isinstance(location, Path):
        return location.exists()
    fs, path = fsspec.core.url_to_fs(location)
    return fs.exists(path)


def _read_text(location: Path | str) -> str:
    if isinstance(location, Path):
        return location.read_text()
    fs, path = fsspec.core.url_to_fs(location)
    return fs.cat_file(path).decode()


def _store_name(version: str) -> str:
    return f"{version}.zarr"


def new_version() -> str:
    """A fresh version id: UTC time of the write and a random suffix, so that two writers never share one."""
    return datetime.now(timezone.utc).strftime("v%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


# ------------------------------------------------------------------------------------------------------ writes

@contextmanager
def _locked(folder: Path):
    """One writer at a time per map folder (the alias, LATEST and the catalogue change together)."""
    with open(folder / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def catalogue_row(attrs: dict, name: str, version: str, written_at: datetime | None = None) -> dict:
    """The catalogue's row of a version, from its Dataset attributes."""
    ts = pd.Timestamp(written_at or attrs.get("created_utc") or datetime.now(timezone.utc))
    return {"version": version, "written_at": ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"),
            "name": name, "site": str(attrs.get("site", "")), "model_name": str(attrs.get("model_name", "")),
            "model_version": str(attrs.get("model_version", "")), "mlflow_run_id": str(attrs.get("mlflow_run_id", "")),
            "dagster_run_id": str(attrs.get("dagster_run_id", "")), "profile": str(attrs.get("profile", "")),
            "campaigns": str(attrs.get("campaigns", "")), "path": _store_name(version),
            "zarr_format": int(attrs.get("zarr_format", ZARR_FORMAT))}


def _write_catalogue(folder: Path | str, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS))
    frame["written_at"] = pd.to_datetime(frame["written_at"], utc=True)
    if not isinstance(folder, Path):
        frame.to_parquet(_entry(folder, CATALOGUE), index=False)  # one object put: replaced whole
        return
    tmp = folder / f".{CATALOGUE}.{uuid.uuid4().hex[:8]}"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, folder / CATALOGUE)


def _write_latest(folder: Path | str, version: str) -> None:
    """The commit point: ``LATEST`` names ``version`` (a file replaced atomically, or one object put)."""
    if not isinstance(folder, Path):
        fs, path = fsspec.core.url_to_fs(_entry(folder, "LATEST"))
        fs.pipe_file(path, (version + "\n").encode())
        return
    text_tmp = folder / f".LATEST.{uuid.uuid4().hex[:8]}"
    text_tmp.write_text(version + "\n")
    os.replace(text_tmp, folder / "LATEST")


def _catalogue_rows(folder: Path | str, name: str, exclude: str) -> list[dict]:
    """The catalogue's rows; where it does not exist yet (local stores written before it), rebuilt from the versions'
    attributes in the order they were written. On object storage only the catalogue lists versions: a store
    without a row there belongs to a killed write."""
    path = _entry(folder, CATALOGUE)
    if _exists(path):
        return pd.read_parquet(path).to_dict("records")
    if not isinstance(folder, Path):
        return []
    rows = []
    for store in folder.glob("*.zarr"):
        if store.is_symlink() or store.stem == exclude or store.name.startswith("."):
            continue
        attrs = xr.open_zarr(store, consolidated=True).attrs
        rows.append(catalogue_row(attrs, name, attrs.get("version", store.stem)))
    return sorted(rows, key=lambda r: r["written_at"])


def _catalogue_with(folder: Path | str, name: str, ds: xr.Dataset, version: str) -> list[dict]:
    """The catalogue's rows after this write: the rows so far and the new version's, last."""
    return (_catalogue_rows(folder, name, exclude=version)
            + [catalogue_row(ds.attrs, name, version, datetime.now(timezone.utc))])


def _write_store(ds: xr.Dataset, target: Path | str, version: str, mode: str) -> None:
    """A version's Zarr store, the same on every filesystem: format 3, consolidated metadata, our chunks."""
    ds.attrs["version"] = version
    ds.to_zarr(target, mode=mode, encoding=_encoding(ds), consolidated=True, zarr_format=ZARR_FORMAT)


def write_beam_map(ds: xr.Dataset, root: Path | str, name: str, version: str | None = None) -> Path | str:
    """Write ``ds`` as a new version of the map ``name`` under ``root`` (a folder or an fsspec URL), point
    ``latest`` at it and add its row to the catalogue. Returns the version's store (a Path, or its URL)."""
    folder = map_folder(root, name)
    if isinstance(folder, Path):
        folder.mkdir(parents=True, exist_ok=True)
    version = version or new_version()
    final = _entry(folder, _store_name(version))
    if _exists(final):
        raise FileExistsError(f"beam map version {final} exists; versions are never overwritten")
    if isinstance(folder, Path):
        _write_local(ds, folder, name, version)
    else:
        _write_remote(ds, folder, name, version)
    return final


def _write_local(ds: xr.Dataset, folder: Path, name: str, version: str) -> None:
    """Atomically: a temporary store renamed into place under the folder's lock, then LATEST, the catalogue and
    the link."""
    tmp = folder / f".{_store_name(version)}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _write_store(ds, tmp, version, mode="w")
        with _locked(folder):
            repair(folder, name)
            rows = _catalogue_with(folder, name, ds, version)
            os.replace(tmp, folder / _store_name(version))
            # LATEST is the commit point: written first, so that a kill after it leaves the catalogue and the link
            # behind it, never ahead, and the next write (``repair``) brings them level
            _write_latest(folder, version)
            _write_catalogue(folder, rows)
            _point_latest_link(folder, version)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_remote(ds: xr.Dataset, folder: str, name: str, version: str) -> None:
    """On object storage (no rename, link or lock): the store in place, the catalogue, then LATEST, the commit
    point, last, so that LATEST never names a version the catalogue lacks (the module docstring says why)."""
    _write_store(ds, _entry(folder, _store_name(version)), version, mode="w-")
    _write_catalogue(folder, _catalogue_with(folder, name, ds, version))
    _write_latest(folder, version)


STALE_TEMPORARY_S = 3600.0  # a temporary entry this old belongs to a killed write, not to a running one


def _point_latest_link(folder: Path, version: str) -> None:
    link_tmp = folder / f".latest.{uuid.uuid4().hex[:8]}"
    os.symlink(_store_name(version), link_tmp)
    os.replace(link_tmp, folder / "latest.zarr")


def repair(folder: Path, name: str, now: float | None = None) -> list[str]:
    """Bring a local map folder level after a killed write (call under the folder's lock): the catalogue gets the
    row of the version LATEST names if it lacks it, ``latest.zarr`` points where LATEST does, and temporary entries
    of killed writes older than ``STALE_TEMPORARY_S`` are removed. Returns what was done (empty: nothing to do).
    Object storage needs none: its write order leaves nothing to level (module docstring)."""
    done = []
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    for entry in folder.iterdir():
        if entry.name.startswith(".") and (".tmp-" in entry.name or entry.name.startswith((".latest.", ".LATEST.",
                                                                                          f".{CATALOGUE}."))):
            if now - entry.lstat().st_mtime > STALE_TEMPORARY_S:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                done.append(f"removed {entry.name}")
    marker = folder / "LATEST"
    if not marker.exists():
        return done
    version = marker.read_text().strip()
    if not (folder / _store_name(version)).exists():
        return done
    rows = _catalogue_rows(folder, name, exclude="") if (folder / CATALOGUE).exists() else None
    if rows is not None and (not rows or rows[-1]["version"] != version):
        attrs = xr.open_zarr(folder / _store_name(version), consolidated=True).attrs
        _write_catalogue(folder, [r for r in rows if r["version"] != version]
                         + [catalogue_row(attrs, name, version)])
        done.append(f"catalogue row of {version}")
    link = folder / "latest.zarr"
    if not link.is_symlink() or os.readlink(link) != _store_name(version):
        _point_latest_link(folder, version)
        done.append(f"latest.zarr -> {_store_name(version)}")
    return done


# ------------------------------------------------------------------------------------------------------- reads

def version_path(root: Path | str, name: str, version: str = "latest") -> Path | str:
    """The store of ``version`` (``latest``: the version written last, as named in ``LATEST``), a Path or a URL;
    FileNotFoundError if there is none."""
    folder = map_folder(root, name)
    if version == "latest":
        marker = _entry(folder, "LATEST")
        if not _exists(marker):
            raise FileNotFoundError(f"no beam map written under {folder}")
        version = _read_text(marker).strip()
    path = _entry(folder, _store_name(version))
    if not _exists(path):
        raise FileNotFoundError(f"no beam map version {version!r} under {folder}")
    return path


def latest_path(root: Path | str, name: str) -> Path | str:
    """The version ``latest`` points to; FileNotFoundError if none was written."""
    return version_path(root, name, "latest")


def catalogue_location(root: Path | str, name: str) -> Path | str:
    """Where the catalogue of the map ``name`` is (a Path or a URL; plain pandas reads either)."""
    return _entry(map_folder(root, name), CATALOGUE)


def read_catalogue(root: Path | str, name: str) -> pd.DataFrame:
    """Every version of the map ``name`` written so far, in write order (the last row is ``latest``)."""
    path = catalogue_location(root, name)
    if not _exists(path):
        raise FileNotFoundError(f"no beam-map catalogue {path}: no version written")
    return pd.read_parquet(path)


def open_beam_map(path: Path | str) -> xr.Dataset:
    """A version's store (a Path or an fsspec URL) as a lazy Dataset."""
    return xr.open_zarr(path, consolidated=True)


def with_holes_at_noise_floor(ds: xr.Dataset) -> xr.Dataset:
    """The pipeline's reading of a ray-traced map: coverage holes (``covered`` = False on valid cells, NaN in the
    store) at the map's ``noise_floor_dbm``, what a receiver measures there. Maps without ``covered`` unchanged."""
    if "covered" not in ds or "noise_floor_dbm" not in ds.attrs:
        return ds
    hole = ~ds.covered.astype(bool) & ds.valid.astype(bool)
    return ds.assign(power_dbm=ds.power_dbm.where(~hole, np.float32(ds.attrs["noise_floor_dbm"])))
