"""The tracking prior of the declared variant ``proposed_tracked`` (ours, issue 10; not in the paper).

The paper's model recovers p̂ from the CSI alone. The variant fuses, per trajectory, the model's p̂ with the coarse
locations p̄ in one constant-velocity Kalman + RTS smoother (``models.baselines.kalman.rts_smoother``, the smoother
of the floors): two measurement streams per sample, p̄ with variance R_c and p̂ with variance R_m. All noise levels
are chosen without labels by the forward filter's innovation likelihood: (R_c, q) on p̄ alone as the
``cv_smoother`` floor does, then R_m on a log grid with (R_c, q) held, scored by how well the fused track predicts
the next coarse location (the likelihood of p̄ alone: scoring p̂'s own innovations would reward any p̂ the motion
model predicts well, a constant one included). A model that says nothing beyond p̄ gets a
large R_m and the variant falls back to the floor; a model whose p̂ knows where the radio map puts the sample
pulls the track there. Where a trajectory passes a place twice (the uniform walk goes along the road and back),
p̂ is the same function of the CSI on both passes, so the fused track shares the coarse evidence of both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.baselines.floors import CVNoise, choose_cv_noise
from models.baselines.kalman import innovation_loglik, rts_smoother

MODEL_VARIANCE_GRID_M2 = 10.0 ** np.arange(-1.0, 8.01, 0.25)  # R_m: 0.3 m to 10 km std (10 km: p̂ ignored)


@dataclass(frozen=True)
class TrackNoise:
    coarse: CVNoise  # R_c and q, from p̄ alone
    model_variance_m2: float  # R_m of the model's p̂


def choose_track_noise(t_s: np.ndarray, coarse_xy: np.ndarray, model_xy: np.ndarray) -> TrackNoise:
    coarse = choose_cv_noise(t_s, coarse_xy)
    z = np.stack([coarse_xy, model_xy], axis=1)  # (L, 2 streams, 2)
    ones = np.ones(len(t_s))

    def ll(r_m):
        return innovation_loglik(z, t_s, np.stack([ones * coarse.coarse_variance_m2, ones * r_m], axis=1),
                                 coarse.accel_psd, scored_streams=(0,))

    scores = [ll(r) for r in MODEL_VARIANCE_GRID_M2]
    return TrackNoise(coarse, float(MODEL_VARIANCE_GRID_M2[int(np.argmax(scores))]))


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
