"""Study (issue 10, the ``proposed_tracked`` variant), not part of the pipeline: how the tracking prior's label-free
noise choice (``models.beam_map.tracking.choose_track_noise``) compares with other model-noise levels R_m on a
finished ``make demo`` home's Table I walk (ground truth read to score only).

Measured 2026-12-07 (session 12, the home of 4b7d4c2's demo: p̂ 3.93 m, CV smoother 1.59 m): the chosen R_m (211 m^2
= σ_m^2 9.4 x τ 22.4) fused to 1.72 m; R_m x2 1.59, x4 1.52, x8 1.51 m. p̂'s true error variance is 11.5 m^2 with a
mean of (-1.3, 0.4) m, and its true autocorrelation decays more slowly than the residual's (ρ at 20 samples 0.30-0.39
against 0.08-0.20): p̂ learned its slow error from p̄ through L_c, so it is correlated with the coarse smoother's,
which the choice subtracts as if independent, and τ comes out too short. Not identifiable from the residual alone.

    .venv/bin/python scripts/study_tracking_noise.py --home /tmp/demo/.radiomap
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default=".radiomap")
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


if __name__ == "__main__":
    main()
