"""The complex-CSI contract (issue 13): per-antenna channel frequency responses H as an xarray Dataset and a Zarr
store, for every family that works on complex channels (seeds 002, 003, 004).

In memory, ``H`` is complex64 with dims (sample, bs_antenna, ue_antenna, subcarrier): the **uplink** channel from
UE antenna u to BS antenna b at subcarrier k, in linear amplitude (|H|^2 is the path gain, units "1"; transmit
power and antenna gains beyond the elements' patterns are not in it). A sample is one UE position at one time:
a static set has ``trajectory_id`` = "static" and ``t_s`` = NaN; a trajectory has its id and times in seconds.

Antenna order is Sionna RT's PlanarArray order, shared with ``domain.codebook``: n = c * rows + r (column-major),
column c at +c lambda/2 along the array's horizontal axis, row r = 0 at the top; the coordinates ``bs_antenna_row``
/ ``bs_antenna_col`` (and the UE's) say it per antenna. Subcarrier k sits at ``frequency_offset_hz`` from the
carrier (Sionna's ``subcarrier_frequencies``: -N/2 ... N/2 - 1 times the spacing).

**On disk** (Zarr format 3, consolidated metadata): Zarr 3 has no portable complex data type (its complex64 is an
extension that not every reader implements), so ``H`` is stored as float32 with a trailing dim ``complex`` of size
2 whose coordinate is ("real", "imag"). One variable rather than two keeps a chunk's real and imaginary parts
together and the contract one name. ``open_csi`` returns the complex64 ``H``; an analyst with plain xarray reads
``ds.H.sel(complex="real") + 1j * ds.H.sel(complex="imag")``. ``write_csi`` writes atomically (a temporary store
renamed into place), never over an existing store.

Positions are in the site frame (``beam_map_store.frame_attrs``: local ENU metres). CF-1.10 attributes: units and
long_name on every variable, the scalar ``crs`` coordinate, ``Conventions``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from radiomap_assets.domain.beam_map_store import CONVENTIONS, ZARR_FORMAT, frame_attrs

STATIC = "static"  # trajectory_id of the samples of a static position set
SAMPLES_PER_CHUNK = 256
REQUIRED_ATTRS = ("carrier_frequency_hz", "bandwidth_hz", "subcarrier_spacing_hz", "bs_array_rows", "bs_array_cols",
                  "ue_array_rows", "ue_array_cols", "site", "source", "link")


@dataclass(frozen=True)
class ArrayGeometry:
    """A half-wavelength uniform planar array of ``rows`` x ``cols`` isotropic elements (Sionna's PlanarArray)."""

    rows: int
    cols: int

    @property
    def num_antennas(self) -> int:
        return self.rows * self.cols

    def rows_cols(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every antenna n = c * rows + r, each (N,)."""
        n = np.arange(self.num_antennas)
        return n % self.rows, n // self.rows


@dataclass(frozen=True)
class OfdmGrid:
    """The subcarriers of H: ``num_subcarriers`` spread evenly over ``bandwidth_hz`` around the carrier."""

    carrier_frequency_hz: float
    bandwidth_hz: float
    num_subcarriers: int

    @property
    def subcarrier_spacing_hz(self) -> float:
        return self.bandwidth_hz / self.num_subcarriers

    def frequency_offsets_hz(self) -> np.ndarray:
        """Baseband frequency of every subcarrier, (N,): Sionna's ``subcarrier_frequencies`` (-N/2 ... N/2 - 1)."""
        n = self.num_subcarriers
        start = -(n // 2) if n % 2 == 0 else -((n - 1) // 2)
        return (start + np.arange(n)) * self.subcarrier_spacing_hz

    @property
    def centre_subcarrier(self) -> int:
        """Index of the subcarrier at the carrier (baseband 0 Hz)."""
        return int(np.argmin(np.abs(self.frequency_offsets_hz())))


def csi_dataset(H: np.ndarray, positions: np.ndarray, bs_array: ArrayGeometry, ue_array: ArrayGeometry,
                ofdm: OfdmGrid, site: str, source: str, t_s: np.ndarray | None = None,
                trajectory_id: np.ndarray | None = None, bs_position: tuple[float, float, float] | None = None,
                bs_yaw_deg: float = 0.0, ue_yaw_deg: np.ndarray | float = 0.0, attrs: dict | None = None
                ) -> xr.Dataset:
    """The contract's Dataset. ``H`` (sample, N_B, N_U, K) complex; ``positions`` (sample, 3) metres in the site
    frame; ``t_s`` (sample,) seconds (None: NaN, a static set); ``trajectory_id`` (sample,) str (None: "static");
    ``source`` says where H comes from ("sionna_rt", "geometric", "measured"); ``attrs`` adds dataset attributes."""
    H = np.asarray(H)
    if H.ndim != 4:
        raise ValueError(f"H must be (sample, bs_antenna, ue_antenna, subcarrier), got shape {H.shape}")
    n, n_b, n_u, k = H.shape
    if (n_b, n_u, k) != (bs_array.num_antennas, ue_array.num_antennas, ofdm.num_subcarriers):
        raise ValueError(f"H {H.shape[1:]} does not match the arrays ({bs_array.num_antennas}, "
                         f"{ue_array.num_antennas}) and {ofdm.num_subcarriers} subcarriers")
    positions = np.asarray(positions, dtype=np.float64).reshape(n, 3)
    t = np.full(n, np.nan) if t_s is None else np.asarray(t_s, dtype=np.float64).reshape(n)
    tid = np.full(n, STATIC) if trajectory_id is None else np.asarray(trajectory_id).astype(str).reshape(n)
    b_row, b_col = bs_array.rows_cols()
    u_row, u_col = ue_array.rows_cols()
    coords = {
        "sample": ("sample", np.arange(n, dtype=np.int64), {"units": "1", "long_name": "sample index"}),
        "bs_antenna": ("bs_antenna", np.arange(n_b, dtype=np.int64),
                       {"units": "1", "long_name": "base-station antenna n = c * rows + r (Sionna PlanarArray order)"}),
        "ue_antenna": ("ue_antenna", np.arange(n_u, dtype=np.int64),
                       {"units": "1", "long_name": "user antenna n = c * rows + r (Sionna PlanarArray order)"}),
        "subcarrier": ("subcarrier", np.arange(k, dtype=np.int64), {"units": "1", "long_name": "subcarrier index"}),
        "bs_antenna_row": ("bs_antenna", b_row.astype(np.int64), {"units": "1", "long_name": "row r (0 = top)"}),
        "bs_antenna_col": ("bs_antenna", b_col.astype(np.int64), {"units": "1", "long_name": "column c"}),
        "ue_antenna_row": ("ue_antenna", u_row.astype(np.int64), {"units": "1", "long_name": "row r (0 = top)"}),
        "ue_antenna_col": ("ue_antenna", u_col.astype(np.int64), {"units": "1", "long_name": "column c"}),
        "frequency_offset_hz": ("subcarrier", ofdm.frequency_offsets_hz(),
                                {"units": "Hz", "long_name": "subcarrier frequency minus the carrier frequency"}),
        "x": ("sample", positions[:, 0], {"units": "m", "long_name": "user easting in the site frame",
                                          "standard_name": "projection_x_coordinate", "grid_mapping": "crs"}),
        "y": ("sample", positions[:, 1], {"units": "m", "long_name": "user northing in the site frame",
                                          "standard_name": "projection_y_coordinate", "grid_mapping": "crs"}),
        "z": ("sample", positions[:, 2], {"units": "m", "long_name": "user antenna-array centre height"}),
        "t_s": ("sample", t, {"units": "s", "long_name": "time since the start of the sample's trajectory",
                              "comment": "NaN for a static position set"}),
        "trajectory_id": ("sample", tid.astype("<U64"),
                          {"long_name": f"trajectory of the sample (\"{STATIC}\" for a static position set)"}),
        "ue_yaw_deg": ("sample", np.broadcast_to(np.asarray(ue_yaw_deg, np.float64), (n,)).copy(),
                       {"units": "degree", "long_name": "user array boresight azimuth, counterclockwise from +x"}),
        "crs": ((), np.int8(0), frame_attrs(site)),
    }
    data_vars = {"H": (("sample", "bs_antenna", "ue_antenna", "subcarrier"), H.astype(np.complex64),
                       {"units": "1", "long_name": "uplink channel frequency response from UE antenna to BS "
                                                   "antenna (linear amplitude; |H|^2 is the path gain)"})}
    out = xr.Dataset(data_vars, coords)
    bs_position = (np.nan, np.nan, np.nan) if bs_position is None else bs_position
    out.attrs.update({
        "Conventions": CONVENTIONS, "zarr_format": ZARR_FORMAT, "site": site, "source": source, "link": "uplink",
        "carrier_frequency_hz": float(ofdm.carrier_frequency_hz), "bandwidth_hz": float(ofdm.bandwidth_hz),
        "subcarrier_spacing_hz": float(ofdm.subcarrier_spacing_hz), "num_subcarriers": int(ofdm.num_subcarriers),
        "bs_array_rows": int(bs_array.rows), "bs_array_cols": int(bs_array.cols),
        "ue_array_rows": int(ue_array.rows), "ue_array_cols": int(ue_array.cols),
        "element_spacing_wavelengths": 0.5, "element_pattern": "isotropic, vertically polarized",
        "bs_x_m": float(bs_position[0]), "bs_y_m": float(bs_position[1]), "bs_z_m": float(bs_position[2]),
        "bs_yaw_deg": float(bs_yaw_deg),
        "storage": "H is complex64 in memory; on disk float32 with a trailing dim complex = (real, imag) "
                   "(radiomap_assets.domain.csi.open_csi recombines it)",
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(attrs or {})})
    return out


def ofdm_grid(ds: xr.Dataset) -> OfdmGrid:
    """The subcarrier grid of a CSI Dataset."""
    a = ds.attrs
    return OfdmGrid(float(a["carrier_frequency_hz"]), float(a["bandwidth_hz"]), int(ds.sizes["subcarrier"]))


def arrays(ds: xr.Dataset) -> tuple[ArrayGeometry, ArrayGeometry]:
    """(BS array, UE array) of a CSI Dataset."""
    a = ds.attrs
    return (ArrayGeometry(int(a["bs_array_rows"]), int(a["bs_array_cols"])),
            ArrayGeometry(int(a["ue_array_rows"]), int(a["ue_array_cols"])))


def validate_csi(ds: xr.Dataset) -> None:
    """Raise ValueError where ``ds`` breaks the contract (dims, complex H, attributes, array sizes)."""
    if "H" not in ds:
        raise ValueError("a CSI Dataset has the variable H")
    dims = ("sample", "bs_antenna", "ue_antenna", "subcarrier")
    if ds.H.dims != dims:
        raise ValueError(f"H has dims {ds.H.dims}, the contract's are {dims}")
    if not np.issubdtype(ds.H.dtype, np.complexfloating):
        raise ValueError(f"H must be complex in memory (open stores with open_csi), got {ds.H.dtype}")
    missing = [k for k in REQUIRED_ATTRS if k not in ds.attrs]
    if missing:
        raise ValueError(f"CSI Dataset lacks the attributes {missing}")
    bs, ue = arrays(ds)
    if (ds.sizes["bs_antenna"], ds.sizes["ue_antenna"]) != (bs.num_antennas, ue.num_antennas):
        raise ValueError(f"antenna dims ({ds.sizes['bs_antenna']}, {ds.sizes['ue_antenna']}) do not match the arrays "
                         f"{bs.rows}x{bs.cols} and {ue.rows}x{ue.cols}")


def to_storage(ds: xr.Dataset) -> xr.Dataset:
    """The on-disk form: complex H -> float32 H with a trailing ``complex`` dim (real, imag)."""
    validate_csi(ds)
    h = ds.H.values
    stacked = np.stack([h.real, h.imag], axis=-1).astype(np.float32)
    out = ds.drop_vars("H").assign(H=(ds.H.dims + ("complex",), stacked, dict(ds.H.attrs)))
    out = out.assign_coords(complex=("complex", np.array(["real", "imag"]), {"long_name": "part of the complex value"}))
    out.H.attrs["comment"] = "complex value stored as (real, imag) along the last dim: H = real + 1j * imag"
    # text as variable-length UTF-8 (Zarr 3's "string" type, specified), not fixed-width UTF-32 (unspecified)
    return out.assign_coords({name: out[name].astype(object) for name in out.coords if out[name].dtype.kind == "U"})


def from_storage(ds: xr.Dataset) -> xr.Dataset:
    """The in-memory form of a stored CSI Dataset: float32 H (..., complex) -> complex64 H."""
    if "complex" not in ds.H.dims:
        return ds
    h = ds.H.sel(complex="real").values + 1j * ds.H.sel(complex="imag").values
    attrs = {k: v for k, v in ds.H.attrs.items() if k != "comment"}
    out = ds.drop_vars(["H", "complex"]).assign(H=(ds.H.dims[:-1], h.astype(np.complex64), attrs))
    text = {name: (out[name].dims, np.array(out[name].values.tolist(), dtype=str), out[name].attrs)
            for name in out.coords if out[name].dtype.kind in "OT"}
    return out.assign_coords(text)


def write_csi(ds: xr.Dataset, path: Path | str) -> Path:
    """Write ``ds`` as a Zarr format 3 store at ``path`` (consolidated metadata, chunks of SAMPLES_PER_CHUNK
    samples), atomically: a temporary store renamed into place. An existing store is never overwritten."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"CSI store {path} exists; stores are never overwritten")
    stored = to_storage(ds)
    enc = {"H": {"chunks": (min(SAMPLES_PER_CHUNK, stored.sizes["sample"]),) + stored.H.shape[1:]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        stored.to_zarr(tmp, mode="w", encoding=enc, consolidated=True, zarr_format=ZARR_FORMAT)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def open_csi(path: Path | str) -> xr.Dataset:
    """A CSI store as the contract's in-memory Dataset (complex64 H, loaded)."""
    ds = xr.open_zarr(path, consolidated=True).load()
    out = from_storage(ds)
    validate_csi(out)
    return out


def measured_csi_problems(ds: xr.Dataset, known_sites: tuple[str, ...] | list[str]) -> list[str]:
    """Why a landed CSI store cannot be accepted (empty: it can): the contract (``validate_csi``), a known site,
    at least one sample, finite H with energy in every sample, and within each trajectory strictly increasing
    times (a static set's times are NaN). Positions may be NaN (a measurement without a position fix)."""
    try:
        validate_csi(ds)
    except ValueError as e:
        return [str(e)]
    problems = []
    if ds.attrs["site"] not in known_sites:
        problems.append(f"unknown site {ds.attrs['site']!r}; known sites: {', '.join(known_sites)}")
    if ds.sizes["sample"] == 0:
        return problems + ["no samples"]
    H = ds.H.values
    bad = ~np.isfinite(H).reshape(len(H), -1).all(axis=1)
    if bad.any():
        problems.append(f"{int(bad.sum())} samples hold NaN or infinite values of H (first: sample "
                        f"{int(np.argmax(bad))})")
    silent = np.abs(np.nan_to_num(H)).reshape(len(H), -1).max(axis=1) == 0
    if silent.any():
        problems.append(f"{int(silent.sum())} samples have H = 0 everywhere (no path measured): drop them")
    tid, t = ds.trajectory_id.values.astype(str), ds.t_s.values
    for name in dict.fromkeys(tid.tolist()):
        if name == STATIC:
            continue
        times = t[tid == name]
        if not np.isfinite(times).all() or (np.diff(times) <= 0).any():
            problems.append(f"trajectory {name!r}: t_s must be finite and strictly increasing in sample order")
    return problems
