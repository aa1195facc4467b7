"""The tracking prior of the declared variant ``proposed_tracked`` (ours, issue 10; not in the paper).

The paper's model recovers p̂ from the CSI alone. The variant fuses, per trajectory, the model's p̂ with the coarse
locations p̄ in one constant-velocity Kalman + RTS smoother (``models.baselines.kalman.rts_smoother``, the smoother
of the floors): two measurement streams per sample, p̄ with variance R_c and p̂ with variance R_m. All noise levels
are chosen without labels:

- (R_c, q) on p̄ alone by the innovation likelihood, as the ``cv_smoother`` floor does;
- R_m from the residual r = p̂ - s between p̂ and that coarse-only smoother s. If the model's error is independent of
  the coarse noise, E|r|^2 / 2 = σ_m^2 + σ_s^2 per axis, with σ_s^2 the smoother's own posterior variance; so
  σ_m^2 = E|r|^2 / 2 - σ_s^2 (a bias of p̂ against p̄ counts as error). p̂'s error is not white: the network sees
  overlapping windows, and its error decorrelates over about a second (25-40 samples at 10 Hz on the default
  walk), while the smoother assumes independent measurements. R_m = σ_m^2 · τ, with τ the integrated
  autocorrelation time of r in samples, gives one "effective" independent measurement per τ samples.

Measured on the default uniform walk (paper protocol, 2026-11-27; the estimates need no label and matched the true
ones: σ_m^2 10.6 against 11.4 m^2, τ 26.7 against 25.9 samples): p̂ of a 1,200-step model at 4.07 m fused to 1.39 m,
below the CV smoother (1.59 m). The previous choice (R_m maximizing the likelihood of p̄ under the fused track) took
the smallest R_m of its grid (0.1 m^2) and fused to 3.12 m: p̄'s noise (400 m^2) drowns the difference.
A model that says nothing beyond p̄ (a constant, say) gets a huge σ_m^2 and τ and the variant falls back to the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.baselines.floors import CVNoise, cv_smoother_posterior
from models.baselines.kalman import rts_smoother

MIN_MODEL_VARIANCE_M2 = 0.01


@dataclass(frozen=True)
class TrackNoise:
    coarse: CVNoise  # R_c and q, from p̄ alone
    model_variance_m2: float  # R_m = σ_m^2 · τ, the variance the smoother gives each p̂
    model_error_variance_m2: float = float("nan")  # σ_m^2 per axis
    correlation_samples: float = float("nan")  # τ


def integrated_autocorrelation_samples(x: np.ndarray, slow_variance: float = 0.0, threshold: float = 0.05) -> float:
    """τ = 1 + 2 Σ_lag ρ(lag) of a 1-D series, summed until ρ first drops below ``threshold`` (at most L/4 lags).

    ``slow_variance``: the variance of a component of x that stays correlated over every lag summed (the coarse
    smoother's own error in r = p̂ - s: its correlation time is hundreds of samples); it is taken out of every
    autocovariance, so τ is that of the rest (the model's error)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    c0 = float(np.mean(x * x)) - slow_variance
    if c0 <= 0.0 or len(x) < 8:
        return 1.0
    total = 0.0
    for lag in range(1, len(x) // 4):
        rho = (float(np.mean(x[:-lag] * x[lag:])) - slow_variance) / c0
        if rho < threshold:
            break
        total += rho
    return 1.0 + 2.0 * total


def choose_track_noise(t_s: np.ndarray, coarse_xy: np.ndarray, model_xy: np.ndarray) -> TrackNoise:
    smoothed, cov, coarse = cv_smoother_posterior(t_s, coarse_xy)  # the cv_smoother floor: (L, 2), (L, 2, 2)
    residual = model_xy - smoothed
    smoother_var = float(np.mean(cov[:, 0, 0]))
    # on a short track the smoother's own variance can exceed the residual's: p̂'s error is then not identifiable
    # and is taken as at least a quarter of the residual's mean square (never "exact")
    mean_square = float(np.mean(residual ** 2))
    error_var = max(mean_square - smoother_var, 0.25 * mean_square, MIN_MODEL_VARIANCE_M2)
    tau = float(np.mean([integrated_autocorrelation_samples(residual[:, i], smoother_var) for i in range(2)]))
    return TrackNoise(coarse, error_var * tau, error_var, tau)


def track_with_prior(t_s: np.ndarray, coarse_xy: np.ndarray, model_xy: np.ndarray,
                     noise: TrackNoise | None = None) -> tuple[np.ndarray, TrackNoise]:
    """One trajectory: t_s (L,), p̄ (L, 2), p̂ (L, 2) -> fused positions (L, 2) and the chosen noise levels."""
    t_s, coarse_xy, model_xy = (np.asarray(a, dtype=np.float64) for a in (t_s, coarse_xy, model_xy))
    if coarse_xy.shape != model_xy.shape or coarse_xy.shape != (len(t_s), 2):
        raise ValueError(f"t_s (L,), coarse_xy and model_xy (L, 2) must match, got {t_s.shape}, "
                         f"{coarse_xy.shape}, {model_xy.shape}")
    if len(t_s) < 3:
        return model_xy.copy(), noise
    noise = noise or choose_track_noise(t_s, coarse_xy, model_xy)
    z = np.stack([coarse_xy, model_xy], axis=1)
    var = np.stack([np.full(len(t_s), noise.coarse.coarse_variance_m2), np.full(len(t_s), noise.model_variance_m2)],
                   axis=1)
    xy, _ = rts_smoother(z, t_s, var, noise.coarse.accel_psd)
    return xy, noise
