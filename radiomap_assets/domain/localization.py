"""Coarse location recovery (section II-B): the p̄ that the model regularizes toward in eq. (3).

- ``weighted_centroid``: weighted centroid localization [27] from the known base-station positions. The weight of
  base station b is its strongest observed beam power in linear scale raised to 1/``exponent`` (exponent 2 makes
  the weight proportional to the amplitude, about 1/distance under free-space loss). Base stations not observed in
  a sample get weight 0. Only base stations with a known position count (a manifest may leave positions out, issue
  14). A sample needs ``MIN_POSITIONED_BS`` of them observed: with fewer, the centroid would sit on a base station or
  on the line between two, never an honest user location, so such a sample takes the estimate of the nearest sample
  of its trajectory that has one (NaN when none has). ``coarse_location_problem`` says when a campaign's base
  stations cannot give any (fewer than three positioned, or all on one line).
- ``noisy_ground_truth``: the paper's protocol for its tables: ground truth plus Gaussian noise of variance
  ``variance_m2`` per coordinate (400 m^2 outdoor, 25 m^2 indoor). It reads ground truth, so only the evaluation
  asset ``paper_protocol_coarse_locations`` uses it; the production ``coarse_locations`` is the weighted centroid.
"""

from __future__ import annotations

import numpy as np

PAPER_OUTDOOR_NOISE_VARIANCE_M2 = 400.0
PAPER_INDOOR_NOISE_VARIANCE_M2 = 25.0
MIN_POSITIONED_BS = 3


def coarse_location_problem(bs_xy: np.ndarray) -> str | None:
    """Why base stations at ``bs_xy`` (N_b, 2), NaN where unknown, give no honest coarse location (None if they do)."""
    xy = np.asarray(bs_xy, dtype=np.float64)
    known = xy[np.isfinite(xy).all(axis=1)]
    if len(known) < MIN_POSITIONED_BS:
        return (f"{len(known)} of {len(xy)} base stations have a known position; a weighted centroid needs at least "
                f"{MIN_POSITIONED_BS} (give x_m, y_m, z_m in the manifest)")
    centred = known - known.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if sv[1] <= 1e-3 * max(sv[0], 1e-9):
        return (f"the {len(known)} positioned base stations lie on one line: a weighted centroid of them is a point "
                f"on that line, not a user location")
    return None


def weighted_centroid(power_dbm: np.ndarray, bs_xy: np.ndarray, trajectory_id: np.ndarray | None = None,
                      exponent: float = 2.0) -> np.ndarray:
    """power_dbm (L, N_b, |W|) with NaN where unobserved, bs_xy (N_b, 2) NaN where unknown -> coarse locations (L, 2),
    NaN everywhere when ``coarse_location_problem`` finds one."""
    power_dbm = np.asarray(power_dbm, dtype=np.float64)
    bs_xy = np.asarray(bs_xy, dtype=np.float64)
    if coarse_location_problem(bs_xy) is not None:
        return np.full((len(power_dbm), 2), np.nan)
    positioned = np.isfinite(bs_xy).all(axis=1)
    power_dbm, bs_xy = power_dbm[:, positioned], bs_xy[positioned]
    observed = ~np.isnan(power_dbm)
    strongest = np.where(observed.any(axis=2), np.nanmax(np.where(observed, power_dbm, -np.inf), axis=2), np.nan)
    # weights relative to each sample's strongest base station, for numerical range
    rel = strongest - np.nanmax(np.where(np.isnan(strongest), -np.inf, strongest), axis=1, keepdims=True)
    w = np.where(np.isnan(strongest), 0.0, 10.0 ** (rel / (10.0 * exponent)))  # (L, N_b)
    total = w.sum(axis=1)
    est = (w @ bs_xy) / np.maximum(total, 1e-300)[:, None]
    missing = (w > 0).sum(axis=1) < MIN_POSITIONED_BS
    if missing.any():  # the nearest sample of the same trajectory with enough base stations (NaN if none)
        est[missing] = np.nan
        tids = np.zeros(len(est)) if trajectory_id is None else np.asarray(trajectory_id)
        for tid in dict.fromkeys(tids[missing].tolist()):
            rows = np.nonzero(tids == tid)[0]
            good = rows[~missing[rows]]
            if len(good):
                at = np.searchsorted(good, rows)  # the first located sample at or after each row
                after, before = good[np.minimum(at, len(good) - 1)], good[np.maximum(at - 1, 0)]
                est[rows] = est[np.where(np.abs(before - rows) <= np.abs(after - rows), before, after)]
    return est


def noisy_ground_truth(ground_truth_xy: np.ndarray, variance_m2: float = PAPER_OUTDOOR_NOISE_VARIANCE_M2,
                       seed: int = 0) -> np.ndarray:
    """p̄ = p + N(0, variance_m2 * I): the paper's coarse-location protocol for reproducing its tables."""
    rng = np.random.default_rng(seed)
    xy = np.asarray(ground_truth_xy, dtype=np.float64)
    return xy + rng.normal(0.0, np.sqrt(variance_m2), size=xy.shape)
