"""The one typed configuration of seed 003 (Zheng, Hossain, Chaaban: model-free channel estimation with a
channel-charting-inspired autoencoder and LSTM tracking), with the paper's sizes (section VI) as defaults and a
CPU size (``cpu_config``) for tests, the smoke profile and the benchmark on 2 cores.

Where the paper is silent, the choice is ours and says so in a comment ("ours").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelEstimationConfig:
    # system (section VI): BS 10 x 10 UPA (N_B = 100), UE 2 x 2 UPA (N_U = 4), 3.5 GHz, 10 MHz, 512 subcarriers
    bs_rows: int = 10
    bs_cols: int = 10
    ue_rows: int = 2
    ue_cols: int = 2
    carrier_frequency_hz: float = 3.5e9
    bandwidth_hz: float = 10e6
    num_subcarriers: int = 512  # the ray tracer's grid; H of eq. (1) is one subcarrier's matrix (the centre one)
    tx_power_dbm: float = 45.0
    noise_power_dbm: float = -95.0
    # pilots, eq. (1): M_B M_U = 96 observations for N_B N_U = 400 unknowns. The split is not given: ours is M_U = 4
    # precoders (a full-rank 4 x 4 DFT F, every UE direction sounded) and M_B = 24 random analog combiners
    pilots_bs: int = 24  # M_B
    pilots_ue: int = 4  # M_U
    pilot_seed: int = 1234  # W, F and S are fixed in training and inference (section V-D)
    # autoencoder (section IV, VI): S = 64, encoder [1280, 256], decoder [256, 1280], ReLU hidden, linear output
    latent_dim: int = 64
    encoder_widths: tuple[int, ...] = (1280, 256)
    decoder_widths: tuple[int, ...] = (256, 1280)
    # v = f(H): "amplitude_phase" is eq. (5); "real_imag" (ours) avoids the decoder learning phase wraps at +-pi
    representation: str = "amplitude_phase"
    latent_noise_std: float = 0.05  # n of eq. (7) (ours: its size is not given)
    lambda_tc: float = 0.1  # lambda of eq. (11) (ours; L_CI and L_TC are both means, see losses.py)
    ae_batch_size: int = 128  # K of eqs. (8)-(10): the pairs of one step's batch (ours)
    ae_steps: int = 3000
    ae_learning_rate: float = 1e-3
    # LSTM tracker (section V, Fig. 2): 3 layers x 64; g_1, g_2, g_3 are MLPs whose widths the paper does not give
    lstm_layers: int = 3
    lstm_hidden: int = 64
    mlp_width: int = 128  # the hidden width of g_1, g_2, g_3 (ours)
    lambda_alpha: float = 1.0  # eq. (12) (ours)
    lambda_beta: float = 1.0
    seq_len: int = 20  # T of the training sequences (ours)
    tracker_batch_size: int = 64
    tracker_steps: int = 3000
    tracker_learning_rate: float = 1e-3
    walk_neighbours: int = 8  # training walks over the static set step to one of this many nearest samples (ours)
    # the end-to-end LSTM baseline (section VI): g_1 and the same LSTM, then an MLP straight to H (its head scales
    # with N_B N_U, as the paper says the end-to-end network must); widths of its head are the decoder's
    e2e_steps: int = 3000
    e2e_learning_rate: float = 1e-3
    # classical baselines (ours: the paper has LS only)
    omp_oversampling: int = 2  # angular grid points per antenna and dimension
    omp_max_paths: int = 8
    seed: int = 0

    @property
    def num_bs_antennas(self) -> int:  # N_B
        return self.bs_rows * self.bs_cols

    @property
    def num_ue_antennas(self) -> int:  # N_U
        return self.ue_rows * self.ue_cols

    @property
    def num_observations(self) -> int:  # M_B M_U
        return self.pilots_bs * self.pilots_ue

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ChannelEstimationConfig":
        """The inverse of ``to_dict`` (JSON lists back to tuples); unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names})


def cpu_config(**overrides) -> ChannelEstimationConfig:
    """The paper's system at a CPU budget: 64 subcarriers for the ray tracer, narrower networks (encoder [256, 128],
    LSTM 2 x 64) and fewer steps. ``overrides``: any field (e.g. ``bs_rows=20, bs_cols=20`` for Fig. 6)."""
    base = dict(num_subcarriers=64, encoder_widths=(256, 128), decoder_widths=(128, 256), latent_dim=32,
                lstm_layers=2, mlp_width=64, ae_steps=1500, tracker_steps=1500, e2e_steps=1500,
                ae_learning_rate=2e-3, tracker_learning_rate=2e-3, e2e_learning_rate=2e-3)
    base.update(overrides)
    return ChannelEstimationConfig.from_dict(base)


def sized_config(sizes: str, **overrides) -> ChannelEstimationConfig:
    """``cpu_config(**overrides)`` for ``sizes`` = "cpu", the paper's config with ``overrides`` for "paper"."""
    if sizes == "cpu":
        return cpu_config(**overrides)
    if sizes == "paper":
        return ChannelEstimationConfig.from_dict(overrides)
    raise ValueError(f"sizes must be 'cpu' or 'paper', got {sizes!r}")
