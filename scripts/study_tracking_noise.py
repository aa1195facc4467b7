"""Study (issue 10, the ``proposed_tracked`` variant), not part of the pipeline: how the tracking prior's label-free
noise choice (``models.beam_map.tracking.choose_track_noise``) compares with other model-noise levels R_m on a
finished ``make demo`` home's Table I walk (ground truth read to score only).

Measured 2026-12-07 (session 12, the home of 4b7d4c2's demo: p̂ 3.93 m, CV smoother 1.59 m): the chosen R_m (211 m^2
= σ_m^2 9.4 x τ 22.4) fused to 1.72 m; R_m x2 1.59, x4 1.52, x8 1.51 m. p̂'s true error variance is 11.5 m^2 with a
mean of (-1.3, 0.4) m, and its true autocorrelation decays more slowly than the residual's (ρ at 20 samples 0.30-0.39
against 0.08-0.20): p̂ learned its slow error from p̄ through L_c, so it is correlated with the coarse smoother's,
which the choice subtracts as if independent, and τ comes out too short. Not identifiable from the residual alone.

``--bias-state`` also fuses p̂ by a smoother that models its slow error (session 13, 2026-12-07): per axis the state
[x, v, b], b an AR(1) bias of p̂ (variance σ_b^2, time constant τ_b), p̄ = x + white (R_c), p̂ = x + b + white (R_w);
(R_c, q) from p̄ alone as the CV floor, (σ_b^2, τ_b, R_w) by the joint innovation likelihood of both streams
(Nelder-Mead, about 30 s per walk). Fitting q as well degenerates (q 73-88 m^2/s^3: p̂ read as the truth, 3.92 m).
On the 4b7d4c2 / c1a855e homes it fused the faithful p̂ to 1.595 / 1.534 m (the chosen R_m: 1.72 / 1.52; CV smoother
1.587): at the floor's level, never far above or below it; in the hall it lost to the chosen R_m (see README).

    .venv/bin/python scripts/study_tracking_noise.py --home /tmp/demo/.radiomap [--bias-state]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np


def bias_state_smoother(t_s: np.ndarray, coarse_xy: np.ndarray, model_xy: np.ndarray, accel_psd: float,
                        coarse_variance_m2: float, bias_variance_m2: float, bias_time_s: float,
                        white_variance_m2: float, smooth: bool = True) -> "np.ndarray | float":
    """Kalman filter (+ RTS smoother) of the state [x, v, b] per axis (both axes share the covariance): p̄ = x + w_c,
    p̂ = x + b + w_m, b_{k+1} = a b_k + η with a = exp(-dt/τ_b). Returns the smoothed positions (L, 2), or with
    ``smooth=False`` the innovation log-likelihood of both streams (the first step left out)."""
    dt = float(np.median(np.diff(t_s)))
    a = np.exp(-dt / bias_time_s)
    f = np.array([[1.0, dt, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, a]])
    q = np.array([[accel_psd * dt ** 3 / 3, accel_psd * dt ** 2 / 2, 0.0],
                  [accel_psd * dt ** 2 / 2, accel_psd * dt, 0.0], [0.0, 0.0, bias_variance_m2 * (1 - a * a)]])
    h = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    r = np.diag([coarse_variance_m2, white_variance_m2])
    z = np.stack([coarse_xy, model_xy], axis=1)  # (L, streams, axes)
    x = np.zeros((3, 2))
    x[0] = z[0, 0]
    p = np.diag([coarse_variance_m2, 100.0, bias_variance_m2])
    n = len(z)
    xf, pf, xp, pp = np.empty((n, 3, 2)), np.empty((n, 3, 3)), np.empty((n, 3, 2)), np.empty((n, 3, 3))
    loglik = 0.0
    for k in range(n):
        if k:
            x, p = f @ x, f @ p @ f.T + q
        xp[k], pp[k] = x, p
        s = h @ p @ h.T + r
        s_inv = np.linalg.inv(s)
        innovation = z[k] - h @ x  # (streams, axes)
        if k:
            loglik -= 0.5 * (2 * np.log(np.linalg.det(s)) + np.einsum("ia,ij,ja->", innovation, s_inv, innovation)
                             + 4 * np.log(2 * np.pi))
        gain = p @ h.T @ s_inv
        x, p = x + gain @ innovation, p - gain @ s @ gain.T
        xf[k], pf[k] = x, p
    if not smooth:
        return loglik
    xs = xf.copy()
    for k in range(n - 2, -1, -1):
        xs[k] = xf[k] + pf[k] @ f.T @ np.linalg.inv(pp[k + 1]) @ (xs[k + 1] - xp[k + 1])
    return xs[:, 0]


def fuse_with_bias_state(t_s: np.ndarray, coarse_xy: np.ndarray, model_xy: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(R_c, q) from p̄ alone (the cv_smoother floor's choice), (σ_b^2, τ_b, R_w) by the joint likelihood."""
    from scipy.optimize import minimize

    from models.baselines.floors import choose_cv_noise, cv_smoother

    cv = choose_cv_noise(t_s, coarse_xy)
    v = max(float(np.mean((model_xy - cv_smoother(t_s, coarse_xy, cv)) ** 2)), 0.1)

    def neg_loglik(log_params):
        return -bias_state_smoother(t_s, coarse_xy, model_xy, cv.accel_psd, cv.coarse_variance_m2,
                                    *np.exp(log_params), smooth=False)

    fit = minimize(neg_loglik, np.log([v, 2.0, 0.05 * v]), method="Nelder-Mead",
                   options={"maxfev": 200, "xatol": 0.02, "fatol": 0.5})
    params = (cv.accel_psd, cv.coarse_variance_m2, *np.exp(fit.x))
    return bias_state_smoother(t_s, coarse_xy, model_xy, *params), params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default=".radiomap")
    ap.add_argument("--bias-state", action="store_true", help="also fuse by the bias-state smoother")
    args = ap.parse_args()
    home = Path(args.home).resolve()
    os.environ["RADIOMAP_HOME"] = str(home)
    os.environ.setdefault("RADIOMAP_PROFILE", "default")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from models.baselines.floors import cv_smoother
    from models.beam_map.tracking import choose_track_noise, track_with_prior
    from radiomap_assets import storage
    from radiomap_assets.assets.experiment_inputs import experiment_data, truth_of

    def stored(asset: str):
        return storage.load_site_asset(asset, "san_francisco")

    campaigns = stored("experiment_campaigns")
    _, test = experiment_data(campaigns, "table1")
    truth = truth_of(campaigns["experiments"]["table1"], test)
    for d, p_hat, xy in zip(test, stored("proposed_method")["table1"].xy, truth.xy):
        def error(track):
            return float(np.linalg.norm(track - xy, axis=1).mean())

        chosen = choose_track_noise(d.t_s, d.coarse_xy, p_hat)
        print(f"{d.trajectory_id}: p̂ {error(p_hat):.2f} m, CV smoother {error(cv_smoother(d.t_s, d.coarse_xy)):.2f} m; "
              f"chosen σ_m^2 {chosen.model_error_variance_m2:.1f} m^2, τ {chosen.correlation_samples:.1f}, "
              f"R_m {chosen.model_variance_m2:.0f} m^2; p̂'s true error variance per axis "
              f"{np.mean((p_hat - xy) ** 2):.1f} m^2")
        for scale in (0.5, 1, 2, 4, 8):
            noise = dataclasses.replace(chosen, model_variance_m2=chosen.model_variance_m2 * scale)
            print(f"  R_m x{scale:g}: fused {error(track_with_prior(d.t_s, d.coarse_xy, p_hat, noise)[0]):.2f} m")
        if args.bias_state:
            fused, params = fuse_with_bias_state(d.t_s, d.coarse_xy, p_hat)
            print(f"  bias state (σ_b^2 {params[2]:.1f} m^2, τ_b {params[3]:.1f} s, R_w {params[4]:.2g} m^2): "
                  f"fused {error(fused):.3f} m")


if __name__ == "__main__":
    main()
