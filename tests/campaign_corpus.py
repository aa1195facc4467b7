"""A corpus of well-formed and malformed campaigns (design 3.1), one malformed campaign per rule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from radiomap_assets.domain import campaign as contract


def good_manifest(cid: str) -> dict:
    return {"campaign_id": cid, "site": "san_francisco", "carrier_frequency_hz": 2.8e9,
            "base_stations": [{"bs_id": b, "x_m": 50.0 * b, "y_m": 10.0 + 30.0 * (b == 1), "z_m": 30.0,
                               "num_antennas": 16, "yaw_deg": 0.0} for b in range(3)],  # not on one line
            "codebook": {"type": "dft", "num_beams": 16}, "measurement_rate_hz": 10.0, "notes": "test"}


def good_measurements(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n) * 0.1, 3)
    return pd.DataFrame({
        "trajectory_id": pd.Series(["traj_0"] * len(t), dtype="string"), "t_s": t.astype(np.float64),
        "bs_id": np.tile(np.arange(3), n).astype(np.int64), "beam_id": rng.integers(0, 16, len(t)).astype(np.int64),
        "power_dbm": rng.uniform(-110, -40, len(t)).astype(np.float32)})


def good_ground_truth(n: int = 40) -> pd.DataFrame:
    t = np.arange(n) * 0.1
    return pd.DataFrame({"trajectory_id": ["traj_0"] * n, "t_s": t, "x_m": t * 1.0, "y_m": np.zeros(n)})


def write_good(root: Path, cid: str, seed: int = 0) -> Path:
    return contract.write_campaign(root / cid, good_manifest(cid), good_measurements(seed=seed), good_ground_truth())


def _with(df: pd.DataFrame, **changes) -> pd.DataFrame:
    df = df.copy()
    for k, v in changes.items():
        df[k] = v
    return df


def write_malformed_corpus(landing: Path) -> dict[str, str]:
    """Write one malformed campaign per rule into ``landing``; returns {campaign_id: rule expected}.

    Campaigns whose manifest never arrives are written too (they are aged so that a scan times them out)."""
    expected: dict[str, str] = {}
    m = good_measurements()

    def land(cid, rule, measurements=None, manifest=None, raw_bytes=None):
        folder = landing / cid
        folder.mkdir(parents=True)
        if raw_bytes is not None:
            (folder / contract.MEASUREMENTS).write_bytes(raw_bytes)
        elif measurements is not None:
            measurements.to_parquet(folder / contract.MEASUREMENTS, index=False)
        man = good_manifest(cid) if manifest is None else manifest
        (folder / contract.MANIFEST).write_text(man if isinstance(man, str) else json.dumps(man))
        expected[cid] = rule

    land("bad-missing-column", "required columns", m.drop(columns=["power_dbm"]))
    land("bad-bs-id-float", "column types", _with(m, bs_id=m["bs_id"].astype(np.float64)))
    land("bad-time-string", "column types", _with(m, t_s=m["t_s"].astype(str)))
    p = m["power_dbm"].to_numpy().copy()
    p[7] = np.nan
    land("bad-nan-power", "finite power", _with(m, power_dbm=p))
    p = m["power_dbm"].to_numpy().copy()
    p[3] = np.inf
    land("bad-inf-power", "finite power", _with(m, power_dbm=p))
    b = m["bs_id"].to_numpy().copy()
    b[5] = 9
    land("bad-unknown-bs", "known base station id", _with(m, bs_id=b))
    j = m["beam_id"].to_numpy().copy()
    j[2] = 16
    land("bad-beam-too-large", "known beam id", _with(m, beam_id=j))
    j = m["beam_id"].to_numpy().copy()
    j[4] = -1
    land("bad-beam-negative", "known beam id", _with(m, beam_id=j))
    dup = pd.concat([m.iloc[:31], m.iloc[30:31].assign(power_dbm=np.float32(-60.0)), m.iloc[31:]],
                    ignore_index=True)  # row 31 repeats row 30's (trajectory, time, bs, beam) with another power
    land("bad-duplicate-row", "one row per (trajectory, time, base station, beam)", dup)
    land("bad-equal-times", "one row per (trajectory, time, base station, beam)", _with(m, t_s=0.0))
    land("bad-time-offset-huge", "time in seconds", _with(m, t_s=m["t_s"] - 1e300))
    land("bad-time-bool", "column types", _with(m, t_s=m["t_s"] > 1.0))
    t = m["t_s"].to_numpy().copy()
    t[1] = np.nan
    land("bad-nan-time", "finite time", _with(m, t_s=t))
    land("bad-empty-rows", "at least one measurement row", m.iloc[:0])
    land("bad-zero-bytes", "file not empty", raw_bytes=b"")
    buf_path = landing / "_tmp.parquet"
    m.to_parquet(buf_path, index=False)
    data = buf_path.read_bytes()
    buf_path.unlink()
    land("bad-truncated-parquet", "readable Parquet", raw_bytes=data[: len(data) // 2])
    land("bad-not-parquet", "readable Parquet", raw_bytes=b"trajectory_id,t_s\nx,0.0\n")
    land("bad-manifest-not-json", "manifest parses as JSON", m, manifest='{"campaign_id": "bad-manifest-not-json",')
    man = good_manifest("bad-manifest-missing-keys")
    del man["base_stations"]
    land("bad-manifest-missing-keys", "manifest has the required keys", m, man)
    land("bad-id-mismatch", "folder name equals campaign_id", m, good_manifest("some-other-id"))
    man = good_manifest("bad-codebook")
    man["codebook"] = {"type": "random", "num_beams": 16}
    land("bad-codebook", f"codebook is one of {contract.CODEBOOK_TYPES} with a positive number of beams", m, man)
    for cid, codebook, rule in [
            ("bad-angles-count", {"type": "steering_angles", "num_beams": 16, "azimuth_deg": [0.0] * 15},
             "a steering_angles codebook gives num_beams angles in [-90, 90] degrees"),
            ("bad-angles-behind", {"type": "steering_angles", "num_beams": 16,
                                   "azimuth_deg": [0.0] * 15 + [135.0]},
             "a steering_angles codebook gives num_beams angles in [-90, 90] degrees"),
            ("bad-weights-width", {"type": "weights", "num_beams": 16, "real": [[1.0] * 8] * 16,
                                   "imag": [[0.0] * 8] * 16}, "the codebook fits the array (one weight per antenna)"),
            ("bad-weights-zero", {"type": "weights", "num_beams": 16, "real": [[0.0] * 16] * 16,
                                  "imag": [[0.0] * 16] * 16}, "no beam has all-zero weights")]:
        land(cid, rule, m, {**good_manifest(cid), "codebook": codebook})
    man = good_manifest("bad-codebook-not-the-array")  # a 2 x 4 URA's codebook declared for 16-antenna arrays
    man["codebook"] = {"type": "dft_2d", "num_beams": 8, "array_rows": 2, "array_cols": 4, "beams_vertical": 2,
                       "beams_horizontal": 4}
    land("bad-codebook-not-the-array", "the codebook fits the array (num_antennas = array_rows x array_cols)", m,
         man)
    def manifest_with(cid, bs_index=None, **changes):
        man = good_manifest(cid)
        if bs_index is None:
            man.update(changes)
        else:
            man["base_stations"][bs_index].update(changes)
        return man

    for cid, man, rule in [
            ("bad-carrier-zero", manifest_with("bad-carrier-zero", carrier_frequency_hz=0),
             "carrier_frequency_hz is a positive number"),
            ("bad-carrier-string", manifest_with("bad-carrier-string", carrier_frequency_hz="2.8 GHz"),
             "carrier_frequency_hz is a positive number"),
            ("bad-rate-negative", manifest_with("bad-rate-negative", measurement_rate_hz=-10.0),
             "measurement_rate_hz is a positive number"),
            ("bad-site-number", manifest_with("bad-site-number", site=7), "site names a site"),
            ("bad-site-unknown", manifest_with("bad-site-unknown", site="test_site"), "site is a known site"),
            ("bad-zero-antennas", manifest_with("bad-zero-antennas", 1, num_antennas=0),
             "bs_id is an integer >= 0 and num_antennas an integer >= 1"),
            ("bad-bs-id-fraction", manifest_with("bad-bs-id-fraction", 1, bs_id=0.5),
             "bs_id is an integer >= 0 and num_antennas an integer >= 1"),
            ("bad-coordinate-true", manifest_with("bad-coordinate-true", 2, x_m=True),
             "base station fields are finite numbers"),
            ("bad-too-many-beams", manifest_with("bad-too-many-beams", codebook={"type": "dft", "num_beams": 1024}),
             "a codebook has at most 4 beams per antenna"),
            ("bad-time-kind", manifest_with("bad-time-kind", time={"kind": "gps_week"}),
             "time kind is timestamps, sample_index or none"),
            ("bad-index-and-time", manifest_with("bad-index-and-time", time={"kind": "sample_index"}),
             "one time column")]:  # sample_index declared, rows with t_s (and no index)
        land(cid, rule, m, man)
    by_index = m.assign(sample_index=np.rint(m["t_s"] * 10).astype(np.int64)).drop(columns=["t_s"])
    index_manifest = {"time": {"kind": "sample_index"}}
    land("bad-index-float", "column types", by_index.assign(sample_index=by_index["sample_index"] + 0.5),
         manifest_with("bad-index-float", **index_manifest))
    land("bad-index-negative", "sample_index >= 0", by_index.assign(sample_index=by_index["sample_index"] - 3),
         manifest_with("bad-index-negative", **index_manifest))
    land("bad-index-missing", "required columns", m.drop(columns=["t_s"]),
         manifest_with("bad-index-missing", **index_manifest))
    sweeps = m.assign(sweep_id=np.repeat(np.arange(len(m) // 3), 3).astype(np.int64))
    land("bad-sweep-float", "column types", sweeps.assign(sweep_id=sweeps["sweep_id"] * 1.0))
    land("bad-sweeps-same-start", "sweeps of a trajectory start at distinct times",
         sweeps.assign(t_s=np.where(sweeps["sweep_id"] == 1, 0.0, sweeps["t_s"])))
    # power units (issue 14): the declared unit must match its column and the values
    mw = m.assign(power_mw=10.0 ** (m["power_dbm"].astype(np.float64) / 10.0)).drop(columns=["power_dbm"])
    land("bad-unit-unknown", "power unit is one of ['dBm', 'mW', 'dB']", m,
         manifest_with("bad-unit-unknown", power={"unit": "dBW"}))
    land("bad-unit-wrong-column", "required columns", m, manifest_with("bad-unit-wrong-column", power={"unit": "mW"}))
    land("bad-two-power-columns", "one power column", m.assign(power_mw=mw["power_mw"]))
    land("bad-reference-for-dbm", "reference_dbm is a number, for relative dB only", m,
         manifest_with("bad-reference-for-dbm", power={"unit": "dBm", "reference_dbm": -30.0}))
    land("bad-mw-holding-dbm", "the unit matches the values", m.rename(columns={"power_dbm": "power_mw"}),
         manifest_with("bad-mw-holding-dbm", power={"unit": "mW"}))  # negative "milliwatts": dBm values
    land("bad-dbm-holding-mw", "the unit matches the values", mw.rename(columns={"power_mw": "power_dbm"}))
    land("bad-power-beyond-physics", "received power within the physical range",
         _with(m, power_dbm=np.where(np.arange(len(m)) == 9, 95.0, m["power_dbm"]).astype(np.float32)))
    land("bad-relative-span", "the unit matches the values",
         _with(m, power_dbm=np.where(np.arange(len(m)) == 4, -400.0, m["power_dbm"])).rename(
             columns={"power_dbm": "power_db"}), manifest_with("bad-relative-span", power={"unit": "dB"}))
    folder = landing / "bad-no-measurements"
    folder.mkdir()
    (folder / contract.MANIFEST).write_text(json.dumps(good_manifest("bad-no-measurements")))
    expected["bad-no-measurements"] = "file present"
    # a campaign whose manifest never arrives: data written long ago, no manifest
    folder = landing / "bad-manifest-never-arrives"
    folder.mkdir()
    m.to_parquet(folder / contract.MEASUREMENTS, index=False)
    old = 1_000_000_000
    os.utime(folder / contract.MEASUREMENTS, (old, old))
    os.utime(folder, (old, old))
    expected["bad-manifest-never-arrives"] = "manifest arrives"
    return expected
