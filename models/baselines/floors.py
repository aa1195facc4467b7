"""Floors of the localization tables: what the coarse input alone gives, without a radio map and without labels.

A method that learns a radio map must beat these; each takes one trajectory's time stamps t_s (L,) (seconds, strictly
increasing) and coarse locations coarse_xy (L, 2) (metres) and returns estimated positions (L, 2). Plain numpy.

- ``moving_average`` (``coarse_ma_1s``, ``coarse_ma_10s``): centred moving average over a time window.
- ``cv_smoother`` (``cv_smoother``): the constant-velocity Kalman filter + RTS smoother of the SKF
  (``models.baselines.kalman.rts_smoother``) on the coarse locations alone, with its measurement variance R and
  acceleration PSD q chosen per trajectory by maximizing the forward filter's innovation log-likelihood
  (``choose_cv_noise``): the data say how noisy they are, no label does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.baselines.kalman import innovation_loglik, rts_smoother

# Search grids of the cv smoother's noise levels: log-spaced, half a decade apart, then one refinement around the best
# point at a sixth of a decade (so the chosen values are within a factor 10^(1/12) = 1.2 of the grid optimum).
R_GRID_M2 = 10.0 ** np.arange(0.0, 4.01, 0.5)  # 1 .. 10^4 m^2: 1 m to 100 m coarse-location noise std
Q_GRID = 10.0 ** np.arange(-4.0, 1.01, 0.5)  # 1e-4 .. 10 m^2/s^3: steady walking to sharp turns / braking cars
_REFINE_STEP_DECADES = 1.0 / 6.0

FLOOR_NAMES = ("coarse_ma_1s", "coarse_ma_10s", "cv_smoother")


@dataclass(frozen=True)
class CVNoise:
    """The noise levels the innovation likelihood chose for one trajectory."""

    coarse_variance_m2: float  # R
    accel_psd: float  # q
    loglik: float  # innovation log-likelihood at (R, q)
    on_grid_edge: bool  # the optimum sits on the grid's border: the true value may lie outside it


def _check(t_s, coarse_xy) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64)
    xy = np.asarray(coarse_xy, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t_s must be a non-empty (L,) array, got shape {t.shape}")
    if xy.shape != (t.size, 2):
        raise ValueError(f"coarse_xy must be (L={t.size}, 2) to match t_s, got shape {xy.shape}")
    if not (np.isfinite(t).all() and np.isfinite(xy).all()):
        raise ValueError("t_s and coarse_xy must be finite")
    if t.size > 1 and not (np.diff(t) > 0).all():
        k = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"t_s must be strictly increasing: t[{k + 1}]={t[k + 1]} <= t[{k}]={t[k]}")
    return t, xy


def moving_average(t_s: np.ndarray, coarse_xy: np.ndarray, window_s: float) -> np.ndarray:
    """Centred moving average: each sample is the mean of the coarse locations with |t - t_k| <= window_s / 2
    (both ends included, 1 us tolerance so that a 1 s window at 10 Hz holds 11 samples). Near the trajectory's ends
    the window is cut at the data (shorter, no longer centred) rather than shrunk symmetrically: lower variance for
    a small lag. Windows by time, not by sample count, so gaps and irregular rates are handled."""
    t, xy = _check(t_s, coarse_xy)
    if not (np.isfinite(window_s) and window_s > 0):
        raise ValueError(f"window_s must be positive and finite, got {window_s}")
    half = 0.5 * float(window_s) + 1e-6
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    ref = xy.mean(axis=0)  # cumulative sums of the centred values keep the precision on large coordinates
    csum = np.concatenate([np.zeros((1, 2)), np.cumsum(xy - ref, axis=0)])
    return (csum[hi] - csum[lo]) / (hi - lo)[:, None] + ref


def choose_cv_noise(t_s: np.ndarray, coarse_xy: np.ndarray, r_grid_m2: np.ndarray = R_GRID_M2,
                    q_grid: np.ndarray = Q_GRID) -> CVNoise:
    """(R, q) of the constant-velocity model that maximize the innovation log-likelihood of the forward filter
    on the coarse locations (maximum likelihood by grid search: a coarse log grid, then a finer 3 x 3 step around
    its best point). No label: the likelihood scores how well each step's prediction explains the next coarse
    location. On coarse locations with white noise R comes out near the noise variance; on correlated (biased)
    coarse errors the likelihood reads part of the error as motion, and the smoother follows it. A one-sample
    trajectory has nothing to score (every point ties): it gets the grid's first point, flagged ``on_grid_edge``."""
    t, xy = _check(t_s, coarse_xy)
    r_grid, q_grid = np.asarray(r_grid_m2, dtype=np.float64), np.asarray(q_grid, dtype=np.float64)
    if r_grid.size == 0 or q_grid.size == 0 or (r_grid <= 0).any() or (q_grid <= 0).any():
        raise ValueError("r_grid_m2 and q_grid must be non-empty and positive")
    ones = np.ones(len(t))
    cache: dict[tuple[float, float], float] = {}

    def ll(r, q):
        key = (float(r), float(q))
        if key not in cache:
            cache[key] = innovation_loglik(xy, t, ones * r, q)
        return cache[key]

    scores = np.array([[ll(r, q) for q in q_grid] for r in r_grid])
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    edge = i in (0, len(r_grid) - 1) or j in (0, len(q_grid) - 1)
    best = (ll(r_grid[i], q_grid[j]), r_grid[i], q_grid[j])
    step = 10.0 ** _REFINE_STEP_DECADES
    for fr in (1.0 / step, 1.0, step):  # refinement inside the grid's range only
        for fq in (1.0 / step, 1.0, step):
            r, q = r_grid[i] * fr, q_grid[j] * fq
            if r_grid.min() <= r <= r_grid.max() and q_grid.min() <= q <= q_grid.max():
                best = max(best, (ll(r, q), r, q))
    return CVNoise(coarse_variance_m2=float(best[1]), accel_psd=float(best[2]), loglik=float(best[0]),
                   on_grid_edge=bool(edge))


def cv_smoother(t_s: np.ndarray, coarse_xy: np.ndarray, noise: CVNoise | None = None,
                causal: bool = False) -> np.ndarray:
    """Constant-velocity Kalman + RTS smoother (``causal=True``: the forward filter only) on the coarse locations,
    with the noise levels of ``choose_cv_noise`` (or the given ``noise``). (L, 2)."""
    return cv_smoother_posterior(t_s, coarse_xy, noise, causal)[0]


def cv_smoother_posterior(t_s: np.ndarray, coarse_xy: np.ndarray, noise: CVNoise | None = None,
                          causal: bool = False) -> tuple[np.ndarray, np.ndarray, CVNoise]:
    """``cv_smoother`` with what it knows of its own error: positions (L, 2), their posterior covariance (L, 2, 2)
    and the noise levels it used (the tracking prior of models.beam_map.tracking weighs p̂ against it)."""
    t, xy = _check(t_s, coarse_xy)
    if noise is None:
        noise = choose_cv_noise(t, xy)
    out, cov = rts_smoother(xy, t, np.full(len(t), noise.coarse_variance_m2), noise.accel_psd, causal=causal)
    return out, cov, noise


def coarse_floors(t_s: np.ndarray, coarse_xy: np.ndarray) -> tuple[dict[str, np.ndarray], CVNoise]:
    """Every coarse-only floor of one trajectory: ({name: (L, 2)} in ``FLOOR_NAMES`` order, the cv smoother's noise)."""
    t, xy = _check(t_s, coarse_xy)
    noise = choose_cv_noise(t, xy)
    out = {"coarse_ma_1s": moving_average(t, xy, 1.0), "coarse_ma_10s": moving_average(t, xy, 10.0),
           "cv_smoother": cv_smoother(t, xy, noise)}
    return out, noise
