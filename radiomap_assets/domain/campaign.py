"""The measurement-campaign contract of design 3.1: writing a campaign, validating one, quarantining one.

A campaign is a folder ``<landing>/<campaign_id>/`` that is complete when ``manifest.json`` exists (writers write
it last). Validation stops at the first broken rule and raises :class:`CampaignValidationError`, which names the
file, the row (where there is one) and the rule. Quarantine moves the whole folder, never deletes it, and writes
``REASON.txt`` and ``reason.json`` beside the files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

MANIFEST = "manifest.json"
MEASUREMENTS = "measurements.parquet"
GROUND_TRUTH = "ground_truth.parquet"
REJECTED_GROUND_TRUTH = "ground_truth.rejected.parquet"
REASON_TXT = "REASON.txt"
REASON_JSON = "reason.json"

MEASUREMENT_COLUMNS = {"trajectory_id": "string", "t_s": "float64", "bs_id": "int", "beam_id": "int",
                       "power_dbm": "float32"}
GROUND_TRUTH_COLUMNS = ("trajectory_id", "t_s", "x_m", "y_m")
# the 1-D DFT of a ULA, the 2-D DFT of a URA, explicit steering angles per beam, an explicit complex weight matrix
# (domain.codebook.codebook_beam_directions says where each beam points)
CODEBOOK_TYPES = ("dft", "dft_2d", "steering_angles", "weights")
MANIFEST_KEYS = ("campaign_id", "site", "carrier_frequency_hz", "base_stations", "codebook", "measurement_rate_hz")
BS_KEYS = ("bs_id", "num_antennas")
# a base station's position: three finite numbers, or all three null / absent when it is not known (issue 14):
# coarse locations then use the positioned ones (domain.localization.coarse_location_problem says when none can)
BS_POSITION_KEYS = ("x_m", "y_m", "z_m")
# an oversampled DFT codebook has a few beams per antenna; more is a typo (1024 beams declared on 16-antenna arrays)
MAX_BEAMS_PER_ANTENNA = 4
MAX_ABS_TIME_S = 1e11  # time stamps are seconds; float64 still resolves 0.1 ms at this magnitude
# How a campaign gives time (manifest key "time", optional: {"kind": ...}; default "timestamps"). "timestamps": a
# column t_s in seconds per row. "sample_index": a column sample_index (integer >= 0, the sample's place in its
# trajectory) and no t_s; t_s = sample_index / measurement_rate_hz. Either way an optional integer column sweep_id
# groups the rows of one beam sweep into one sample even when their time stamps differ by beam: the sample's time is
# the earliest time stamp of its sweep (a ground truth then gives that time, or the sample index).
# "none": no time and no order at all: a column sample_id (integer >= 0) groups the rows of one sample and every
# sample stands alone; it becomes a trajectory of its own, "<trajectory_id>/s<sample_id>" at t_s = 0, so that no
# temporal method (windows, smoothers, tracking) ever joins two samples whose order is unknown; the model still
# locates each sample from its own CSI, and the ingestion says so (``time_kind``).
TIME_KINDS = ("timestamps", "sample_index", "none")
# Power units (manifest key "power", optional: {"unit": ...}; default {"unit": "dBm"}), each in its own column:
#   "dBm": power_dbm, absolute received power;
#   "mW":  power_mw, linear milliwatts (> 0), read as 10 log10(mW) dBm;
#   "dB":  power_db, relative to a reference level: with "reference_dbm": R it is read as dB + R dBm; without, the
#          campaign's absolute level is unknown (many testbeds log RSSI against an uncalibrated reference), and the
#          ingestion places it at its site's level (``align_power_level``) and says so.
# Whatever the unit, the values must be received powers: a value outside PHYSICAL_POWER_DBM once read as dBm blocks
# the campaign (the declared unit contradicts the values), and nothing downstream clips: the model's normalization
# is affine (domain.measurement), so -210 dBm and +10 dBm keep their order and their difference.
POWER_COLUMNS = {"dBm": "power_dbm", "mW": "power_mw", "dB": "power_db"}
PHYSICAL_POWER_DBM = (-250.0, 60.0)
MAX_RELATIVE_SPAN_DB = PHYSICAL_POWER_DBM[1] - PHYSICAL_POWER_DBM[0]


# A campaign id names a folder, a Dagster partition and files under the home: letters, digits, '.', '_', '-', at
# most 128, starting with a letter or a digit (no path separator, no '..', no hidden name)
CAMPAIGN_ID_RULE = "campaign id is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def campaign_id_problem(campaign_id: object) -> str | None:
    """Why ``campaign_id`` cannot name a campaign (None when it can)."""
    if not isinstance(campaign_id, str) or not _CAMPAIGN_ID.fullmatch(campaign_id):
        return f"{campaign_id!r} breaks the rule: {CAMPAIGN_ID_RULE}"
    return None


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of every entry under ``folder`` (links not followed): changes when a
    campaign is landed again, corrected, under the same id."""
    h = hashlib.sha1()
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files) + sorted(d for d in dirs if os.path.islink(os.path.join(root, d))):
            st = os.lstat(os.path.join(root, name))
            h.update(f"{os.path.relpath(os.path.join(root, name), folder)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def symlink_problem(folder: Path) -> str | None:
    """Why a landed campaign folder cannot be read because of symbolic links (None when it holds none)."""
    links = symlinks_in(folder)
    if not links:
        return None
    return (f"symbolic links are not accepted ({', '.join(links[:5])}): a campaign is read from the landing zone "
            "only; copy the files in instead of linking them")


def symlinks_in(folder: Path) -> list[str]:
    """Entries under ``folder`` that are symbolic links (relative names), ``folder`` itself as '.'."""
    folder = Path(folder)
    if folder.is_symlink():
        return ["."]
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in files + dirs:
            if os.path.islink(os.path.join(root, name)):
                out.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(out)


class CampaignValidationError(ValueError):
    """A broken rule of the campaign contract, with the file, row and rule that failed."""

    def __init__(self, campaign_id: str, file: str, rule: str, detail: str, row: int | None = None):
        self.campaign_id, self.file, self.rule, self.detail, self.row = campaign_id, file, rule, detail, row
        where = f"{file}" + (f", row {row}" if row is not None else "")
        super().__init__(f"campaign {campaign_id!r}: {where}: rule '{rule}' broken: {detail}")

    def to_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "file": self.file, "row": self.row, "rule": self.rule,
                "detail": self.detail, "message": str(self)}


@dataclass
class Campaign:
    """A validated campaign: manifest, measurements (long format) and, if present, the path of its ground truth."""

    campaign_id: str
    path: Path
    manifest: dict
    measurements: pd.DataFrame
    # why an (optional, evaluation-only) ground_truth.parquet that came with it was set aside: the measurements are
    # accepted without it (issue 14: a corrupt ground truth no longer costs the good rows)
    ground_truth_problem: str | None = None
    # dB added to the relative values of a campaign whose reference level is unknown (``align_power_level``); 0 else
    power_offset_db: float = 0.0

    def __setstate__(self, state: dict) -> None:
        """Unpickled (the IO manager's copy of ``raw_channel_measurements``): ``path`` is the absolute folder it was
        accepted into. When that no longer exists and this home's accepted folder holds the campaign (the home was
        copied or moved, issue 15), ``path`` is that folder, so that its ground truth is still found."""
        self.__dict__.update(state)
        if not Path(self.path).exists():
            from radiomap_assets.profiles import home_layout

            here = home_layout().accepted / self.campaign_id
            if here.is_dir():
                self.path = here

    @property
    def power_unit(self) -> str:
        return power_unit(self.manifest)

    @property
    def power_level_known(self) -> bool:
        """False for relative dB without a declared reference_dbm: its power_dbm holds the relative values (plus
        ``power_offset_db`` once aligned)."""
        return power_level_known(self.manifest)

    @property
    def bs_ids(self) -> list[int]:
        return [int(b["bs_id"]) for b in self.manifest["base_stations"]]

    @property
    def bs_positions(self) -> np.ndarray:
        """(N_b, 3) metres, NaN rows for base stations whose position the manifest does not give."""
        return np.array([[b.get(k) if b.get(k) is not None else np.nan for k in BS_POSITION_KEYS]
                         for b in self.manifest["base_stations"]], dtype=np.float64)

    @property
    def num_beams(self) -> int:
        return int(self.manifest["codebook"]["num_beams"])

    @property
    def ground_truth_path(self) -> Path | None:
        p = self.path / GROUND_TRUTH
        return p if p.exists() and self.ground_truth_problem is None else None


# ---------------------------------------------------------------------------------------------------- writing

def write_campaign(folder: Path, manifest: dict, measurements: pd.DataFrame,
                   ground_truth: pd.DataFrame | None = None) -> Path:
    """Write a campaign the way a real one lands: data files first, ``manifest.json`` last (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    measurements.to_parquet(folder / MEASUREMENTS, index=False)
    if ground_truth is not None:
        ground_truth.to_parquet(folder / GROUND_TRUTH, index=False)
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, folder / MANIFEST)
    return folder


# ------------------------------------------------------------------------------------------------- validation

def _fail(cid, file, rule, detail, row=None):
    raise CampaignValidationError(cid, file, rule, detail, row)


def read_manifest(folder: Path) -> dict:
    """Parse and check ``manifest.json`` of a campaign folder."""
    folder = Path(folder)
    cid = folder.name
    path = folder / MANIFEST
    if not path.exists():
        _fail(cid, MANIFEST, "manifest present", "manifest.json is missing (the campaign is incomplete)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark some editors write is fine
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        _fail(cid, MANIFEST, "manifest parses as JSON", str(e))
    if not isinstance(manifest, dict):
        _fail(cid, MANIFEST, "manifest is a JSON object", f"got {type(manifest).__name__}")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        _fail(cid, MANIFEST, "manifest has the required keys", f"missing {missing}")
    if manifest["campaign_id"] != cid:
        _fail(cid, MANIFEST, "folder name equals campaign_id",
              f"folder {cid!r} holds campaign_id {manifest['campaign_id']!r}")
    bss = manifest["base_stations"]
    if not isinstance(bss, list) or not bss:
        _fail(cid, MANIFEST, "at least one base station", "base_stations is empty or not a list")
    for i, bs in enumerate(bss):
        if not isinstance(bs, dict) or any(k not in bs for k in BS_KEYS):
            _fail(cid, MANIFEST, "base station has id and antennas", f"base_stations[{i}] needs {BS_KEYS}")
        given = [bs.get(k) is not None for k in BS_POSITION_KEYS]
        if not all(_is_number(bs[k]) for k in BS_KEYS) or (any(given) and not all(
                _is_number(bs.get(k)) for k in BS_POSITION_KEYS)):
            _fail(cid, MANIFEST, "base station fields are finite numbers",
                  f"base_stations[{i}] = {bs}: bs_id and num_antennas are numbers; x_m, y_m, z_m are three numbers, "
                  f"or all three null when the position is not known")
        if not _is_count(bs["bs_id"], minimum=0) or not _is_count(bs["num_antennas"], minimum=1):
            _fail(cid, MANIFEST, "bs_id is an integer >= 0 and num_antennas an integer >= 1",
                  f"base_stations[{i}]: bs_id = {bs['bs_id']!r}, num_antennas = {bs['num_antennas']!r}")
    ids = [bs["bs_id"] for bs in bss]
    if len(set(ids)) != len(ids):
        _fail(cid, MANIFEST, "base station ids are unique", f"ids {ids}")
    for key in ("carrier_frequency_hz", "measurement_rate_hz"):
        if not _is_number(manifest[key]) or manifest[key] <= 0:
            _fail(cid, MANIFEST, f"{key} is a positive number", f"{key} = {manifest[key]!r}")
    time_spec = manifest.get("time", {"kind": "timestamps"})
    if not isinstance(time_spec, dict) or time_spec.get("kind") not in TIME_KINDS:
        _fail(cid, MANIFEST, "time kind is timestamps, sample_index or none",
              f"time = {time_spec!r}: give {{\"kind\": \"timestamps\"}} (a column t_s, the default when the key is "
              f"absent), {{\"kind\": \"sample_index\"}} (a column sample_index, t_s = index / rate) or "
              f"{{\"kind\": \"none\"}} (a column sample_id, no order: every sample stands alone)")
    power = manifest.get("power", {"unit": "dBm"})
    if not isinstance(power, dict) or power.get("unit") not in POWER_COLUMNS or set(power) - {"unit", "reference_dbm"}:
        _fail(cid, MANIFEST, f"power unit is one of {list(POWER_COLUMNS)}",
              f"power = {power!r}: give {{\"unit\": \"dBm\"}} (column power_dbm, the default when the key is absent), "
              f"{{\"unit\": \"mW\"}} (column power_mw) or {{\"unit\": \"dB\"}} (column power_db, relative; add "
              f"\"reference_dbm\" when the level of 0 dB is known)")
    if "reference_dbm" in power and (power["unit"] != "dB" or not _is_number(power["reference_dbm"])):
        _fail(cid, MANIFEST, "reference_dbm is a number, for relative dB only",
              f"power = {power!r}: reference_dbm is the dBm level of 0 dB of a campaign in unit 'dB'")
    if not isinstance(manifest["site"], str) or not manifest["site"]:
        _fail(cid, MANIFEST, "site names a site", f"site = {manifest['site']!r}")
    cb = manifest["codebook"]
    if not isinstance(cb, dict) or cb.get("type") not in CODEBOOK_TYPES or not isinstance(cb.get("num_beams"), int) \
            or cb["num_beams"] < 1:
        _fail(cid, MANIFEST, f"codebook is one of {CODEBOOK_TYPES} with a positive number of beams",
              f"codebook = {cb}")
    most = MAX_BEAMS_PER_ANTENNA * min(int(bs["num_antennas"]) for bs in bss)
    if cb["num_beams"] > most:
        _fail(cid, MANIFEST, f"a codebook has at most {MAX_BEAMS_PER_ANTENNA} beams per antenna",
              f"num_beams = {cb['num_beams']} for arrays of {most // MAX_BEAMS_PER_ANTENNA} antennas")
    if cb["type"] == "dft_2d":
        keys = ("array_rows", "array_cols", "beams_vertical", "beams_horizontal")
        if not all(isinstance(cb.get(k), int) and cb[k] >= 1 for k in keys) \
                or cb["beams_vertical"] * cb["beams_horizontal"] != cb["num_beams"]:
            _fail(cid, MANIFEST, f"a dft_2d codebook declares {keys} with beams_vertical x beams_horizontal = "
                                 f"num_beams", f"codebook = {cb}")
        for i, bs in enumerate(bss):
            if bs["num_antennas"] != cb["array_rows"] * cb["array_cols"]:
                _fail(cid, MANIFEST, "the codebook fits the array (num_antennas = array_rows x array_cols)",
                      f"base_stations[{i}] has {bs['num_antennas']} antennas, the codebook's array "
                      f"{cb['array_rows']}x{cb['array_cols']}")
    if cb["type"] == "steering_angles":
        _check_angles(cid, cb, "azimuth_deg", required=True)
        _check_angles(cid, cb, "elevation_deg", required=False)
    if cb["type"] == "weights":
        _check_weights(cid, cb, bss)
    return manifest


def _check_angles(cid: str, cb: dict, key: str, required: bool) -> None:
    """A steering-angle codebook: ``key`` lists num_beams angles in degrees within [-90, 90] of the boresight."""
    if key not in cb and not required:
        return
    angles = cb.get(key)
    if not isinstance(angles, list) or len(angles) != cb["num_beams"] or not all(_is_number(a) for a in angles) \
            or any(abs(a) > 90.0 for a in angles):
        _fail(cid, MANIFEST, "a steering_angles codebook gives num_beams angles in [-90, 90] degrees",
              f"codebook.{key} = {str(angles)[:200]} for num_beams = {cb['num_beams']}")


def _check_weights(cid: str, cb: dict, bss: list) -> None:
    """A weight-matrix codebook: real and imag are num_beams rows of N numbers each, N the arrays' antennas (and
    array_rows x array_cols when given); no all-zero beam."""
    rows_ok = all(isinstance(cb.get(k), list) and len(cb[k]) == cb["num_beams"] for k in ("real", "imag"))
    if not rows_ok:
        _fail(cid, MANIFEST, "a weights codebook gives real and imag as num_beams rows",
              f"codebook keys {sorted(cb)}: need real and imag, each a list of {cb['num_beams']} rows")
    widths = {len(r) if isinstance(r, list) else -1 for k in ("real", "imag") for r in cb[k]}
    n = int(bss[0]["num_antennas"])
    if widths != {n} or any(int(bs["num_antennas"]) != n for bs in bss):
        _fail(cid, MANIFEST, "the codebook fits the array (one weight per antenna)",
              f"weight rows of {sorted(widths)} entries for arrays of "
              f"{sorted({int(bs['num_antennas']) for bs in bss})} antennas")
    if not all(_is_number(v) for k in ("real", "imag") for r in cb[k] for v in r):
        _fail(cid, MANIFEST, "weights are finite numbers", "codebook.real / codebook.imag hold a non-number")
    w = np.asarray(cb["real"], dtype=np.float64) + 1j * np.asarray(cb["imag"], dtype=np.float64)
    if (np.linalg.norm(w, axis=1) == 0).any():
        _fail(cid, MANIFEST, "no beam has all-zero weights",
              f"beam {int(np.argmax(np.linalg.norm(w, axis=1) == 0))} has all-zero weights")
    shape = (cb.get("array_rows", 1), cb.get("array_cols", n))
    if not all(_is_count(v, 1) for v in shape) or shape[0] * shape[1] != n:
        _fail(cid, MANIFEST, "the codebook fits the array (num_antennas = array_rows x array_cols)",
              f"array {shape[0]}x{shape[1]} for {n} antennas")


def _is_number(v: object) -> bool:
    """A finite JSON number (not a boolean: ``true`` is not a coordinate)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v: object, minimum: int) -> bool:
    """An integer >= ``minimum`` (a JSON 3.0 counts; 0.5 or true do not)."""
    return _is_number(v) and float(v).is_integer() and v >= minimum


def _first_row(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _read_parquet(cid: str, path: Path, file: str) -> pd.DataFrame:
    if not path.exists():
        _fail(cid, file, "file present", f"{file} is missing")
    if path.stat().st_size == 0:
        _fail(cid, file, "file not empty", "the file has 0 bytes")
    try:
        return pq.read_table(path).to_pandas()
    except Exception as e:  # pyarrow raises several types for truncated / non-Parquet files
        _fail(cid, file, "readable Parquet", f"{type(e).__name__}: {e}")


def power_unit(manifest: dict) -> str:
    return manifest.get("power", {}).get("unit", "dBm")


def power_level_known(manifest: dict) -> bool:
    """Whether the campaign's power is on an absolute scale: every unit but relative dB without reference_dbm."""
    return power_unit(manifest) != "dB" or "reference_dbm" in manifest.get("power", {})


def _power_in_dbm(cid: str, file: str, df: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """The declared unit's column (POWER_COLUMNS) read as power_dbm; blocks values the unit cannot hold."""
    unit = power_unit(manifest)
    column = POWER_COLUMNS[unit]
    others = [c for c in POWER_COLUMNS.values() if c in df.columns and c != column]
    declare = {v: k for k, v in POWER_COLUMNS.items()}
    if column not in df.columns:
        hint = (f"; the file has {others[0]}: declare \"power\": {{\"unit\": \"{declare[others[0]]}\"}}" if others
                else "")
        _fail(cid, file, "required columns", f"power in unit {unit!r} is the column {column}; found "
                                             f"{list(df.columns)}{hint}")
    if others:
        _fail(cid, file, "one power column", f"the manifest declares unit {unit!r} (column {column}); the file also "
                                             f"has {others}: keep one")
    if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
        _fail(cid, file, "column types", f"{column} must be a number (float or integer), got {df[column].dtype}")
    x = df[column].to_numpy(np.float64)
    if not np.isfinite(x).all():
        _fail(cid, file, "finite power", f"{column} = {x[~np.isfinite(x)][0]}", _first_row(~np.isfinite(x)))
    lo, hi = PHYSICAL_POWER_DBM
    if unit == "mW":
        if (x <= 0).any():
            r = _first_row(x <= 0)
            _fail(cid, file, "the unit matches the values",
                  f"power_mw = {x[r]} is not a power in milliwatts (> 0); values at or below 0 are dBm or dB: "
                  f"declare that unit", r)
        dbm = 10.0 * np.log10(x)
    elif unit == "dB":
        dbm = x + float(manifest["power"].get("reference_dbm", 0.0))
    else:
        dbm = x
        if (x > 0).all() and (x <= 1).all():
            _fail(cid, file, "the unit matches the values",
                  "every power_dbm lies in (0, 1]: received power of 0-1 dBm at every row is not a campaign; these "
                  "look like linear milliwatts: declare \"power\": {\"unit\": \"mW\"} and name the column power_mw")
    if not power_level_known(manifest):  # only the span can be checked; the level is placed at ingestion
        span = float(x.max() - x.min())
        if span > MAX_RELATIVE_SPAN_DB:
            _fail(cid, file, "the unit matches the values",
                  f"power_db spans {span:.0f} dB, more than received power can ({MAX_RELATIVE_SPAN_DB:.0f} dB)")
    else:
        out = (dbm < lo) | (dbm > hi)
        if out.any():
            r = _first_row(out)
            _fail(cid, file, "received power within the physical range",
                  f"{column} = {x[r]:.6g} is {dbm[r]:.1f} dBm, outside [{lo:.0f}, {hi:.0f}] dBm: is unit {unit!r} "
                  f"right?", r)
    return df.drop(columns=[column]).assign(power_dbm=dbm)


def align_power_level(campaign: Campaign, reference_p95_dbm: float) -> Campaign:
    """A campaign in relative dB without a reference (POWER_COLUMNS): shift it so that the 95th percentile of its
    observed beam powers sits at ``reference_p95_dbm``, its site's level (``Site.reference_p95_power_dbm``). An
    estimate: on the simulated campaigns of one site that percentile varies by about 4 dB between campaigns.
    Campaigns whose level is known come back unchanged."""
    if campaign.power_level_known:
        return campaign
    p = campaign.measurements["power_dbm"].to_numpy(np.float64)
    offset = float(reference_p95_dbm - np.percentile(p, 95))
    return replace(campaign, measurements=campaign.measurements.assign(power_dbm=(p + offset).astype(np.float32)),
                   power_offset_db=offset)


def time_kind(manifest: dict) -> str:
    return manifest.get("time", {}).get("kind", "timestamps")


def sample_index_times(sample_index: pd.Series, manifest: dict) -> np.ndarray:
    """t_s of a sample-index campaign (TIME_KINDS): sample_index / measurement_rate_hz."""
    return sample_index.to_numpy(np.float64) / float(manifest["measurement_rate_hz"])


def _time_from_sample_index(cid: str, file: str, df: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """A campaign without time stamps: t_s = sample_index / measurement_rate_hz (TIME_KINDS)."""
    if "t_s" in df.columns:
        _fail(cid, file, "one time column", "the manifest declares time kind 'sample_index', the file also has t_s: "
                                            "keep one (drop t_s, or declare time kind 'timestamps')")
    if "sample_index" not in df.columns:
        _fail(cid, file, "required columns", f"time kind 'sample_index' needs a column sample_index; found "
                                             f"{list(df.columns)}")
    idx = df["sample_index"]
    if not pd.api.types.is_integer_dtype(idx):
        _fail(cid, file, "column types", f"sample_index must be integer, got {idx.dtype}")
    if (idx < 0).any():
        _fail(cid, file, "sample_index >= 0", f"sample_index = {int(idx[idx < 0].iloc[0])}",
              _first_row((idx < 0).to_numpy()))
    return df.assign(t_s=sample_index_times(idx, manifest))


def _samples_without_time(cid: str, file: str, df: pd.DataFrame) -> pd.DataFrame:
    """A campaign without time (TIME_KINDS "none"): each (trajectory_id, sample_id) becomes a trajectory of one
    sample at t_s = 0."""
    if "t_s" in df.columns or "sample_index" in df.columns:
        _fail(cid, file, "one time column", "the manifest declares time kind 'none'; the file has "
                                            f"{[c for c in ('t_s', 'sample_index') if c in df.columns]}: drop it, or "
                                            "declare its time kind")
    if "sample_id" not in df.columns:
        _fail(cid, file, "required columns", f"time kind 'none' needs a column sample_id; found {list(df.columns)}")
    sid = df["sample_id"]
    if not pd.api.types.is_integer_dtype(sid):
        _fail(cid, file, "column types", f"sample_id must be integer, got {sid.dtype}")
    if (sid < 0).any():
        _fail(cid, file, "sample_id >= 0", f"sample_id = {int(sid[sid < 0].iloc[0])}", _first_row((sid < 0).to_numpy()))
    if "trajectory_id" in df.columns:
        df = df.assign(trajectory_id=standalone_sample_ids(df["trajectory_id"], sid))
    return df.drop(columns=["sample_id"]).assign(t_s=0.0)


def standalone_sample_ids(trajectory_id: pd.Series, sample_id: pd.Series) -> pd.Series:
    """The trajectory id of a sample without time: ``<trajectory_id>/s<sample_id>``."""
    return trajectory_id.astype(str) + "/s" + sample_id.astype(np.int64).astype(str)


def _time_per_sweep(cid: str, file: str, df: pd.DataFrame) -> pd.DataFrame:
    """Rows of one beam sweep (trajectory_id, sweep_id) become one sample at the sweep's earliest time stamp."""
    sweep = df["sweep_id"]
    if not pd.api.types.is_integer_dtype(sweep):
        _fail(cid, file, "column types", f"sweep_id must be integer, got {sweep.dtype}")
    key = [df["trajectory_id"].astype(str), sweep]
    t0 = df["t_s"].astype(np.float64).groupby(key).transform("min")
    # two sweeps of one trajectory starting at the same instant would merge into one sample: refused
    starts = pd.DataFrame({"trajectory_id": key[0], "sweep_id": sweep, "t_s": t0}).drop_duplicates()
    clash = starts.duplicated(["trajectory_id", "t_s"], keep=False)
    if clash.any():
        both = starts[clash].sort_values(["trajectory_id", "t_s"]).head(2)
        _fail(cid, file, "sweeps of a trajectory start at distinct times",
              f"trajectory {both['trajectory_id'].iloc[0]!r}: sweeps {both['sweep_id'].tolist()} both start at "
              f"t_s {both['t_s'].iloc[0]}")
    return df.assign(t_s=t0.to_numpy(np.float64))


def validate_measurements(cid: str, df: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """Check every rule of design 3.1 on the measurement rows; returns them with canonical dtypes (a sample-index or
    per-sweep campaign comes back with the t_s it implies, TIME_KINDS)."""
    f = MEASUREMENTS
    if len(df) == 0:
        _fail(cid, f, "at least one measurement row", "the file has no rows")
    if time_kind(manifest) == "sample_index":
        df = _time_from_sample_index(cid, f, df, manifest)
    elif time_kind(manifest) == "none":
        df = _samples_without_time(cid, f, df)
    df = _power_in_dbm(cid, f, df, manifest)
    missing = [c for c in MEASUREMENT_COLUMNS if c not in df.columns]
    if missing:
        _fail(cid, f, "required columns", f"missing {missing}; found {list(df.columns)}")
    if not (pd.api.types.is_string_dtype(df["trajectory_id"]) or df["trajectory_id"].dtype == object):
        _fail(cid, f, "column types", f"trajectory_id must be string, got {df['trajectory_id'].dtype}")
    if df["trajectory_id"].dtype == object and not df["trajectory_id"].map(lambda v: isinstance(v, str)).all():
        bad = ~df["trajectory_id"].map(lambda v: isinstance(v, str)).to_numpy()
        _fail(cid, f, "column types", "trajectory_id must be string", _first_row(bad))
    for col in ("t_s",):  # integer time (int64 seconds) is fine: read as float64; power: _power_in_dbm
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            _fail(cid, f, "column types", f"{col} must be a number (float or integer), got {df[col].dtype}")
    for col in ("bs_id", "beam_id"):
        if not pd.api.types.is_integer_dtype(df[col]):
            _fail(cid, f, "column types", f"{col} must be integer, got {df[col].dtype}")
    tid = df["trajectory_id"].astype("string")
    if tid.isna().any():
        _fail(cid, f, "trajectory_id present", "trajectory_id is null", _first_row(tid.isna().to_numpy()))
    t = df["t_s"].to_numpy(np.float64)
    if not np.isfinite(t).all():
        _fail(cid, f, "finite time", f"t_s = {t[~np.isfinite(t)][0]}", _first_row(~np.isfinite(t)))
    if "sweep_id" in df.columns:
        df = _time_per_sweep(cid, f, df)
        t = df["t_s"].to_numpy(np.float64)
    huge = np.abs(t) > MAX_ABS_TIME_S
    if huge.any():  # beyond this, float64 seconds cannot tell samples 0.1 s apart, and samples would merge
        _fail(cid, f, "time in seconds", f"|t_s| = {abs(t[huge][0]):.3g} s exceeds {MAX_ABS_TIME_S:.0e} s: give "
                                         "seconds (not nanoseconds), relative to a recent origin", _first_row(huge))
    p = df["power_dbm"].to_numpy(np.float64)
    known_bs = {int(b["bs_id"]) for b in manifest["base_stations"]}
    unknown = ~df["bs_id"].isin(known_bs).to_numpy()
    if unknown.any():
        r = _first_row(unknown)
        _fail(cid, f, "known base station id", f"bs_id {int(df['bs_id'].iloc[r])} is not in the manifest "
                                                f"{sorted(known_bs)}", r)
    n_beams = int(manifest["codebook"]["num_beams"])
    beam = df["beam_id"].to_numpy()
    bad_beam = (beam < 0) | (beam >= n_beams)
    if bad_beam.any():
        r = _first_row(bad_beam)
        _fail(cid, f, "known beam id", f"beam_id {int(beam[r])} is outside [0, {n_beams})", r)
    # Rows may come in any order: they are sorted by (trajectory, time, base station, beam), stably, before any
    # order is relied on; trajectories keep the order of their first row in the file. One row per (trajectory, time,
    # base station, beam): a repeated key would merge samples or average conflicting values silently, so it is
    # refused, naming the repeated row and the first one
    tid_np = tid.astype(str).to_numpy()
    bs_np, beam_np = df["bs_id"].to_numpy(np.int64), beam.astype(np.int64)
    trajectory_rank = pd.factorize(tid_np)[0]  # numbered in order of first appearance
    order = np.lexsort((np.arange(len(df)), beam_np, bs_np, t, trajectory_rank))
    key_same = ((tid_np[order][1:] == tid_np[order][:-1]) & (t[order][1:] == t[order][:-1])
                & (bs_np[order][1:] == bs_np[order][:-1]) & (beam_np[order][1:] == beam_np[order][:-1]))
    if key_same.any():
        k = _first_row(key_same)
        first, r = int(order[k]), int(order[k + 1])
        kind = "the same power" if p[first] == p[r] else f"another power ({p[r]:.2f} against {p[first]:.2f} dBm)"
        _fail(cid, f, "one row per (trajectory, time, base station, beam)",
              f"row {r} repeats row {first}: trajectory {tid_np[r]!r}, t_s {t[r]}, bs {bs_np[r]}, beam {beam_np[r]} "
              f"with {kind}", r)
    tid_np, t, bs_np, beam_np, p = tid_np[order], t[order], bs_np[order], beam_np[order], p[order]
    return pd.DataFrame({"trajectory_id": tid_np, "t_s": t, "bs_id": bs_np, "beam_id": beam_np,
                         "power_dbm": p.astype(np.float32)})


def validate_ground_truth(cid: str, path: Path, manifest: dict | None = None) -> None:
    df = _read_parquet(cid, path, GROUND_TRUTH)
    columns = set(df.columns)
    if manifest is not None and time_kind(manifest) == "sample_index" and "t_s" not in columns:
        columns |= {"t_s"} if "sample_index" in columns else set()  # read_ground_truth derives t_s from it
    if manifest is not None and time_kind(manifest) == "none" and "t_s" not in columns:
        columns |= {"t_s"} if "sample_id" in columns else set()  # one trajectory per sample, t_s = 0
    missing = [c for c in GROUND_TRUTH_COLUMNS if c not in columns]
    if missing:
        _fail(cid, GROUND_TRUTH, "required columns", f"missing {missing}")


def load_campaign(folder: Path) -> Campaign:
    """Read and validate a complete campaign folder; raises :class:`CampaignValidationError`."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    cid = manifest["campaign_id"]
    df = _read_parquet(cid, folder / MEASUREMENTS, MEASUREMENTS)
    df = validate_measurements(cid, df, manifest)
    problem = None
    if (folder / GROUND_TRUTH).exists():
        try:
            validate_ground_truth(cid, folder / GROUND_TRUTH, manifest)
        except CampaignValidationError as e:  # optional and evaluation-only: the measurements stand without it
            problem = str(e)
    elif (folder / f"{REJECTED_GROUND_TRUTH}.reason.txt").exists():  # set aside when it was accepted
        problem = (folder / f"{REJECTED_GROUND_TRUTH}.reason.txt").read_text().strip()
    return Campaign(cid, folder, manifest, df, problem)


def set_ground_truth_aside(campaign: Campaign) -> Path | None:
    """Rename a rejected ground truth to ``ground_truth.rejected.parquet`` beside a reason file (kept, never read
    again); returns its new path (None when there was nothing to set aside)."""
    if campaign.ground_truth_problem is None or not (campaign.path / GROUND_TRUTH).exists():
        return None
    aside = campaign.path / REJECTED_GROUND_TRUTH
    os.replace(campaign.path / GROUND_TRUTH, aside)
    (campaign.path / f"{REJECTED_GROUND_TRUTH}.reason.txt").write_text(campaign.ground_truth_problem + "\n")
    return aside


def read_ground_truth(campaign: Campaign) -> pd.DataFrame:
    """Evaluation only: the campaign's ground-truth positions. Training and inference never call this."""
    if campaign.ground_truth_path is None:
        raise FileNotFoundError(f"campaign {campaign.campaign_id!r} has no {GROUND_TRUTH}")
    gt = pd.read_parquet(campaign.ground_truth_path)
    if "t_s" not in gt.columns and time_kind(campaign.manifest) == "sample_index":
        gt = gt.assign(t_s=sample_index_times(gt["sample_index"], campaign.manifest))
    if "t_s" not in gt.columns and time_kind(campaign.manifest) == "none":
        gt = gt.assign(trajectory_id=standalone_sample_ids(gt["trajectory_id"], gt["sample_id"]), t_s=0.0)
    return gt


# ------------------------------------------------------------------------------------------------- quarantine

def quarantine(folder: Path, quarantine_root: Path, reason: dict) -> Path:
    """Move a campaign folder to ``quarantine_root/<name>__<UTC time>/`` with REASON.txt and reason.json.

    Links are moved as links, never followed: a landed folder that is itself a link is moved as the link (its
    target untouched) into a quarantine folder of its own, and a landed file named like a reason file that is a link
    is kept beside it as ``<name>.link``, so a reason is never written where a link points."""
    folder = Path(folder)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dest = Path(quarantine_root) / f"{folder.name}__{stamp}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    reason = {**reason, "quarantined_at": stamp, "original_path": str(folder)}
    if folder.is_symlink():
        dest.mkdir()
        reason["link_target"] = os.readlink(folder)
        shutil.move(str(folder), str(dest / folder.name))  # the link itself
    else:
        shutil.move(str(folder), str(dest))
    for name in (REASON_JSON, REASON_TXT):
        if (dest / name).is_symlink():
            (dest / name).rename(dest / f"{name}.link")
    (dest / REASON_JSON).write_text(json.dumps(reason, indent=2, default=str))
    (dest / REASON_TXT).write_text(reason.get("message", str(reason)) + "\n")
    return dest
