"""Coarse location recovery (section II-B): the p̄ that the model regularizes toward in eq. (3).

- ``weighted_centroid``: weighted centroid localization [27] from the known base-station positions. The weight of
  base station b is its strongest observed beam power in linear scale raised to 1/``exponent`` (exponent 2 makes
  the weight proportional to the amplitude, about 1/distance under free-space loss). Base stations not observed in
  a sample get weight 0; a sample that observed nothing repeats the previous estimate of its trajectory (or the
  base stations' centroid at its start).
- ``noisy_ground_truth``: the paper's protocol for its tables: ground truth plus Gaussian noise of variance
  ``variance_m2`` per coordinate (400 m^2 outdoor, 25 m^2 indoor). It reads ground truth, so only the evaluation
  asset ``paper_protocol_coarse_locations`` uses it; the production ``coarse_locations`` is the weighted centroid.
"""

from __future__ import annotations

import numpy as np

PAPER_OUTDOOR_NOISE_VARIANCE_M2 = 400.0
PAPER_INDOOR_NOISE_VARIANCE_M2 = 25.0


def weighted_centroid(power_dbm: np.ndarray, bs_xy: np.ndarray, trajectory_id: np.ndarray | None = None,
                      exponent: float = 2.0) -> np.ndarray:
    """power_dbm (L, N_b, |W|) with NaN where unobserved, bs_xy (N_b, 2) -> coarse locations (L, 2)."""
    power_dbm = np.asarray(power_dbm, dtype=np.float64)
    bs_xy = np.asarray(bs_xy, dtype=np.float64)
    observed = ~np.isnan(power_dbm)
    strongest = np.where(observed.any(axis=2), np.nanmax(np.where(observed, power_dbm, -np.inf), axis=2), np.nan)
    # weights relative to each sample's strongest base station, for numerical range
    rel = strongest - np.nanmax(np.where(np.isnan(strongest), -np.inf, strongest), axis=1, keepdims=True)
    w = np.where(np.isnan(strongest), 0.0, 10.0 ** (rel / (10.0 * exponent)))  # (L, N_b)
    total = w.sum(axis=1)
    est = (w @ bs_xy) / np.maximum(total, 1e-300)[:, None]
    missing = total <= 0
    if missing.any():
        tids = np.zeros(len(est)) if trajectory_id is None else np.asarray(trajectory_id)
        fallback = bs_xy.mean(axis=0)
        for i in np.nonzero(missing)[0]:
            same = i > 0 and tids[i - 1] == tids[i]
            est[i] = est[i - 1] if same else fallback
    return est


def noisy_ground_truth(ground_truth_xy: np.ndarray, variance_m2: float = PAPER_OUTDOOR_NOISE_VARIANCE_M2,
                       seed: int = 0) -> np.ndarray:
    """p̄ = p + N(0, variance_m2 * I): the paper's coarse-location protocol for reproducing its tables."""
    rng = np.random.default_rng(seed)
    xy = np.asarray(ground_truth_xy, dtype=np.float64)
    return xy + rng.normal(0.0, np.sqrt(variance_m2), size=xy.shape)
