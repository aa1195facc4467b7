"""The one typed configuration of the generative beam-map model (paper section III), per profile.

Units: positions and all location losses are in metres, the CSI vector g in the normalized [0, 1] scale of
``radiomap_assets.domain.measurement`` (the diffusion model works on x = 2 g - 1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    # input
    num_entries: int = 80  # N_b * |W|
    beams_per_bs: int = 16  # |W|: entry k = b * |W| + j; the feature extractor makes one token per base station
    # CSI feature extractor (III-B1)
    token_dim: int = 16  # width of each beam token [g̊_k, m_k] after embedding
    num_heads: int = 4
    conv_window: int = 4  # k of eqs. (9), (12): samples before / after the current one
    feature_dim: int = 64  # z^(3)
    # masked moving averages of every beam over +-w samples fed beside the sparse CSI (our addition, issue 10;
    # feature_extractor.masked_moving_average): half widths in samples, () = the paper's input only. The average
    # runs inside the model's window (seq_len samples, in training and in recover_trajectory alike): with 16-sample
    # windows at 10 Hz, w = 10 is +-1 s clipped at the window's ends and w = 30 is the whole window's mean. Every
    # beam of the codebook is then seen at almost every sample although only M per base station are measured.
    # Default uniform campaign, 600 steps: 4.5 m with (10,), 4.2 m with (10, 30)
    fill_half_widths: tuple[int, ...] = (10, 30)
    # temporal context encoder (III-B2)
    rnn_widths: tuple[int, ...] = (64, 96, 128)  # three hybrid RNN-CNN blocks of growing width
    truncation_len: int = 4  # epsilon of eq. (11)
    cnn_channels: int = 8  # deep 2-D CNN of eq. (13)
    latent_dim: int = 64  # D: width of ẑ and of the radio-map codebook vectors
    # radio map module (III-C)
    student_t_alpha: float = 1.0  # alpha of eq. (15)
    ema_decay: float = 0.99  # gamma of eq. (31)
    ema_epsilon: float = 1e-5  # zeta of eq. (31)
    position_scale_m: float = 100.0  # the location predictor works in units of this many metres
    # diffusion decoder (III-D)
    diffusion_steps: int = 200  # T
    beta_start: float = 1e-4
    beta_end: float = 0.02
    unet_channels: int = 32
    condition_tokens: int = 4  # z̈ is split into this many tokens for cross-attention
    ddim_steps: int = 20
    # losses (III-E). Positions are in metres in every loss. The defaults are the CPU-budget weights (see
    # LOSS_WEIGHTS): the paper's outdoor weights (λ_c = 0.01, λ_t = 1, λ_d = 50) are the `paper` profile's.
    lambda_c: float = 1.0
    lambda_t: float = 1.0
    lambda_d: float = 1.0
    lambda_s: float = 1.0
    commitment: float = 0.25
    warmup_fraction: float = 0.1  # first steps: λ_c = 1, no L_s, no L_d (DEC-style: locate before clustering)
    ramp_fraction: float = 0.1  # then λ_d ramps up linearly over this share of training
    coherence_time_s: float = 1.0  # T_c of eq. (26)
    # What L_c (eq. (23)) pulls p̂ towards. "raw": the coarse locations p̄ as given (the paper). "cv_smoothed": a
    # declared variant (ours, issue 10): p̄ first passed through the label-free constant-velocity smoother of
    # models.baselines.floors (noise levels chosen by innovation likelihood), so that the network fits targets
    # whose white noise is already averaged out and its radio map has to remove only what the smoother cannot.
    coarse_targets: str = "raw"
    triplet_margin_m: float = 1.0  # Q_t of eq. (27)
    # training
    # samples of the batch used for the K-cell Student-t assignment (L_s): the (subsample x K) soft assignment was
    # 52 % of a default step at 256; at 64 a step is 27 % faster and the recovered walk as good (3.96 m against
    # 4.09 m, default uniform campaign, 800 steps, 2026-11-27); L_s itself moved the error by < 0.1 m (λ_s = 0: 4.22
    # against 4.22 m at 600 steps)
    loss_subsample: int = 64
    # samples of the batch whose CSI the joint phase denoises (eq. (29)); the decoder learns the full CSI in its
    # refinement (training.refine_decoder), so the joint phase needs only enough to shape ẑ: 256 cost 45 % of a step
    diffusion_subsample: int = 64
    # 64 windows of 16 samples (1.6 s at 10 Hz) per step: 64 places of the campaign per step instead of 16 windows
    # of 64 (the same 1,024 samples); the location fit then learns about twice as fast per step (issue 10)
    seq_len: int = 16  # samples per training window
    batch_size: int = 64  # windows per step
    # Default budget, measured on the default uniform campaign with the paper's coarse input (2026-11-27, one
    # thread, error of the recovered walk): before the changes of issue 10's second round (raw [0, 1] inputs, no
    # beam fill, 16 x 64 windows, λ_d = 0.02 after a 50 % warm-up, constant lr) 11.1 m after 600 steps; with
    # standardized inputs, the +-1 s beam fill, 64 x 16 windows, λ_d = 1 after a 10 % warm-up and the cosine
    # decay, 4.2 m (95th 10.2 m) after 600 steps in 5.2 min; with the cosine over 1,200 steps 4.3 m (9.5 m) at step
    # 800, 4.0 m (8.7 m) at 1,000 and 4.1 m (8.8 m) at 1,200 (10.4 min): 800 steps, near the plateau, in the demo's
    # time. With the L_s subsample at 64 (2026-11-27, one thread, 800 steps in 4.6 min): lr 2e-3 3.96 m, 3e-3 3.77 m
    # (95th 8.5 m), 5e-3 3.88 m; 1,100 steps at 3e-3 4.27 m (the run-to-run spread is about 0.3 m). With true
    # positions as L_c targets the same network reaches 1.85 m at step 800, still falling: on 2 cores the fit, not
    # the information in the CSI, limits p̂; the coarse noise adds the other 2 m
    max_steps: int = 800
    learning_rate: float = 3e-3
    lr_schedule: str = "cosine"  # "cosine" (to min_lr_fraction) or "constant"; see training.learning_rate_at
    min_lr_fraction: float = 0.05
    checkpoint_every: int = 100
    # decoder refinement after the joint training (models.beam_map.training.refine_decoder; our addition): steps of
    # denoiser-only training on frozen codebook conditions with label-free imputed full-CSI targets
    decoder_refine_steps: int = 200
    decoder_refine_batch: int = 256
    # its Adam step size. 5e-4 (sessions 3-11) left the decoder under-fitted: on the default demo's Table I walk
    # (2026-12-07, the tracking prior's cells, 200 steps) 2e-3 took the decoded map's Table IV NMSE from 0.0395 to
    # 0.0305 (SKF 0.0356) and the share of perfect-CSI capacity of the beams chosen from it (Fig. 12, +10 dB) from
    # 0.873 to 0.922 in LOS, 0.956 to 0.962 in NLOS, at the same cost; 5e-3 gave 0.886 LOS
    decoder_refine_lr: float = 2e-3
    seed: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        for key in ("rnn_widths", "fill_half_widths"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


# Loss weights of eq. (30): (λ_c, λ_t, λ_d). The paper's (section IV-A and IV-C) assume a training budget we do
# not have on 2 CPU cores: with λ_c = 0.01 and λ_d = 50 (squared metres) p̂ collapses to a straight line per window
# before it has learned where the window is (39 m on the smoke uniform campaign). `cpu_budget` keeps L_c at unit
# weight and λ_d = 1: with λ_d = 0.02 the network memorized the coarse noise sample by sample (L_d about 40 m^2,
# p̂ jumping metres between samples 0.1 s apart; 6.7 m against 6.4 m with λ_d = 1, default uniform campaign).
LOSS_WEIGHTS = {
    "paper_outdoor": (0.01, 1.0, 50.0),
    "paper_indoor": (0.01, 5.0, 2.0),
    "cpu_budget": (1.0, 1.0, 1.0),
}


def with_loss_weights(config: "ModelConfig", name: str) -> "ModelConfig":
    if name not in LOSS_WEIGHTS:
        raise ValueError(f"unknown loss weights {name!r}; choose one of {', '.join(LOSS_WEIGHTS)}")
    lc, lt, ld = LOSS_WEIGHTS[name]
    return dataclasses.replace(config, lambda_c=lc, lambda_t=lt, lambda_d=ld)


def model_config(num_entries: int, sizes: dict | None = None, loss_weights: str | None = None) -> ModelConfig:
    """ModelConfig for ``num_entries`` CSI entries with a profile's sizes (``radiomap_assets.profiles.BeamMapSection
    .model_overrides()``: field name -> value) and loss-weight preset (None = the defaults, ``cpu_budget``)."""
    sizes = dict(sizes or {})
    unknown = sorted(set(sizes) - {f.name for f in dataclasses.fields(ModelConfig)})
    if unknown:
        raise ValueError(f"unknown ModelConfig field(s) {unknown}")
    config = ModelConfig.from_dict({"num_entries": num_entries, **sizes})
    return with_loss_weights(config, loss_weights) if loss_weights else config
