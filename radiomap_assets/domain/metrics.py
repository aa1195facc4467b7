"""Evaluation metrics of paper section IV (design section 6). Only evaluation code calls these with ground truth."""

from __future__ import annotations

import numpy as np


def localization_errors(estimate_xy: np.ndarray, truth_xy: np.ndarray) -> np.ndarray:
    """Euclidean error ||p̂ - p|| per sample [m]."""
    estimate_xy = np.asarray(estimate_xy, dtype=np.float64)
    truth_xy = np.asarray(truth_xy, dtype=np.float64)
    if estimate_xy.shape != truth_xy.shape:
        raise ValueError(f"estimate {estimate_xy.shape} and truth {truth_xy.shape} differ in shape")
    return np.linalg.norm(estimate_xy - truth_xy, axis=-1)


def localization_summary(estimate_xy: np.ndarray, truth_xy: np.ndarray) -> dict[str, float]:
    """Mean localization error (1/L sum ||p̂ - p||) and its 95th percentile [m]."""
    err = localization_errors(estimate_xy, truth_xy)
    return {"mean_error_m": float(err.mean()), "p95_error_m": float(np.percentile(err, 95)),
            "median_error_m": float(np.median(err)), "samples": int(err.size)}


def beam_map_errors(predicted_g: np.ndarray, true_g: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """NMSE = Σ(ĝ - g)^2 / Σ g^2 and RMSE = sqrt(mean (ĝ - g)^2) of normalized beam maps (values in [0, 1]),
    over the entries selected by ``mask`` (default all finite)."""
    p = np.asarray(predicted_g, dtype=np.float64)
    t = np.asarray(true_g, dtype=np.float64)
    sel = np.isfinite(p) & np.isfinite(t)
    if mask is not None:
        sel &= np.asarray(mask, bool)
    if not sel.any():
        raise ValueError("no entry to compare")
    diff = p[sel] - t[sel]
    return {"nmse": float((diff ** 2).sum() / max((t[sel] ** 2).sum(), 1e-12)),
            "rmse": float(np.sqrt((diff ** 2).mean())), "entries": int(sel.sum())}


# --- latent-space quality: trustworthiness (32) and continuity (33) ------------------------------------------------

def _neighbour_ranks(xy: np.ndarray) -> np.ndarray:
    """rank[i, j] = position of j among i's neighbours by distance (1 = nearest, i itself excluded). (n, n) int."""
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(len(xy))[:, None]
    ranks[rows, order] = np.arange(1, len(xy) + 1)[None, :]
    return ranks


def _rank_penalty(ranks_a: np.ndarray, ranks_b: np.ndarray, k: int) -> float:
    """1 - γ Σ_l Σ_{j in kNN_b(l), j not in kNN_a(l)} (rank_a(l, j) - k), γ = 2 / (L k (2L - 3k - 1))."""
    n = len(ranks_a)
    intruders = (ranks_b <= k) & (ranks_a > k)
    gamma = 2.0 / (n * k * (2 * n - 3 * k - 1))
    return float(1.0 - gamma * (ranks_a[intruders] - k).sum())


def _subsample(n: int, max_points: int) -> np.ndarray:
    return np.arange(n) if n <= max_points else np.linspace(0, n - 1, max_points).round().astype(int)


def trustworthiness_continuity(true_xy: np.ndarray, estimate_xy: np.ndarray, k: int | None = None,
                               k_fraction: float = 0.05, max_points: int = 2000) -> dict[str, float]:
    """Rank-based trustworthiness TW(k) (eq. (32)) and continuity CT(k) (eq. (33)).

    TW penalizes points among an estimate's k nearest neighbours that are not among the true k nearest (by their
    true rank); CT penalizes true neighbours missing from the estimate's neighbourhood (by their estimated rank).
    k defaults to 5% of the points (design section 6). Longer sequences are subsampled evenly to ``max_points``
    (the pairwise ranks are O(L^2) in memory); the subsample is the same for both spaces."""
    true_xy = np.asarray(true_xy, dtype=np.float64)
    estimate_xy = np.asarray(estimate_xy, dtype=np.float64)
    if true_xy.shape != estimate_xy.shape or true_xy.ndim != 2:
        raise ValueError(f"true {true_xy.shape} and estimate {estimate_xy.shape} must both be (L, d)")
    sel = _subsample(len(true_xy), max_points)
    n = len(sel)
    k = int(k if k is not None else max(1, round(k_fraction * n)))
    if not 1 <= k < n / 2:
        raise ValueError(f"k={k} must lie in [1, L/2) for L={n} points")
    r_true, r_est = _neighbour_ranks(true_xy[sel]), _neighbour_ranks(estimate_xy[sel])
    return {"trustworthiness": _rank_penalty(r_true, r_est, k), "continuity": _rank_penalty(r_est, r_true, k),
            "k": k, "points": n}


# --- channel capacity with a beam chosen from a beam map ----------------------------------------------------------

def dbm_to_mw(power_dbm: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(power_dbm, dtype=np.float64) / 10.0)


def capacity_bits_per_hz(chosen_power_mw: np.ndarray, snr_db: float, reference_power_mw: float) -> np.ndarray:
    """log2(1 + P_t |h w|^2 / σ_n^2) with SNR = P_t E|h w|^2 / σ_n^2 set by ``snr_db`` relative to
    ``reference_power_mw`` (the mean channel power, section IV-E): capacity = log2(1 + snr * P_chosen / P_ref)."""
    if reference_power_mw <= 0:
        raise ValueError("reference power must be positive")
    return np.log2(1.0 + 10.0 ** (snr_db / 10.0) * np.asarray(chosen_power_mw, dtype=np.float64) / reference_power_mw)


def beam_tracking_capacity(true_power_dbm: np.ndarray, serving_bs: np.ndarray, chosen_beam: np.ndarray,
                           snr_db: np.ndarray, reference_power_mw: float | None = None) -> np.ndarray:
    """Capacity along a trajectory when beam ``chosen_beam[l]`` of base station ``serving_bs[l]`` is used, evaluated
    on the true channel. true_power_dbm (L, N_b, |W|) = E|h(p_l) w_j|^2 at the true positions. The reference power
    defaults to the mean over the trajectory of the best beam's power (perfect CSI). Returns (S, L) bits/s/Hz."""
    p = dbm_to_mw(true_power_dbm)
    l = np.arange(len(p))
    chosen = p[l, serving_bs, chosen_beam]
    if reference_power_mw is None:
        reference_power_mw = float(p[l, serving_bs].max(axis=-1).mean())
    return np.stack([capacity_bits_per_hz(chosen, s, reference_power_mw) for s in np.atleast_1d(snr_db)])
