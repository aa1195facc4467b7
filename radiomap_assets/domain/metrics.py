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
    sel = np.isfinite(p) & np.isfinite(t) if mask is None else (np.asarray(mask, bool) & np.isfinite(p) & np.isfinite(t))
    if not sel.any():
        raise ValueError("no entry to compare")
    diff = p[sel] - t[sel]
    return {"nmse": float((diff ** 2).sum() / max((t[sel] ** 2).sum(), 1e-12)),
            "rmse": float(np.sqrt((diff ** 2).mean())), "entries": int(sel.sum())}
