"""Step 2 (section V, Fig. 2): the LSTM that tracks the latent state s^(t) and the normalization scalars alpha^(t),
beta^(t) from the received pilots y^(t), and the end-to-end LSTM baseline of section VI that estimates H directly.

y^(t) = [real(vec(Y^(t))), imag(vec(Y^(t)))] (V-A) -> g_1 -> LSTM (zero initial states) -> g_2 -> ŝ^(t), g_3 ->
(alpha^(t), beta^(t)). The tracker's size depends on M_B M_U and S only, never on N_B (V-D). Ours: the latent
targets are standardized per dimension with the training set's statistics (buffers), so eq. (12) weighs every
latent dimension alike whatever scale the autoencoder gave it; the outputs are de-standardized."""

from __future__ import annotations

import torch
from torch import nn

from models.channel_estimation.autoencoder import mlp
from models.channel_estimation.config import ChannelEstimationConfig
from models.channel_estimation.preprocessing import ivec, vec


def pilot_features(Y: torch.Tensor) -> torch.Tensor:
    """y of section V-A: Y (..., M_B, M_U) complex -> (..., 2 M_B M_U) real."""
    y = vec(Y)
    return torch.cat([y.real, y.imag], dim=-1)


class LatentTracker(nn.Module):
    def __init__(self, config: ChannelEstimationConfig):
        super().__init__()
        width, hidden = config.mlp_width, config.lstm_hidden
        self.g1 = mlp((2 * config.num_observations, width, hidden))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=config.lstm_layers, batch_first=True)
        self.g2 = mlp((hidden, width, config.latent_dim))
        self.g3 = mlp((hidden, width // 2, 2))
        self.register_buffer("latent_mean", torch.zeros(config.latent_dim))
        self.register_buffer("latent_std", torch.ones(config.latent_dim))

    def set_latent_statistics(self, s: torch.Tensor) -> None:
        """Mean and std per latent dimension of the training set's states s (N, S)."""
        self.latent_mean.copy_(s.mean(dim=0))
        self.latent_std.copy_(s.std(dim=0).clamp_min(1e-6))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """y (B, T, 2 M_B M_U) -> ŝ (B, T, S) standardized, alpha^ (B, T), beta^ (B, T)."""
        hidden, _ = self.lstm(self.g1(y))  # c^(0) = h^(0) = 0
        ab = self.g3(hidden)
        return self.g2(hidden), ab[..., 0], ab[..., 1]

    def standardize(self, s: torch.Tensor) -> torch.Tensor:
        return (s - self.latent_mean) / self.latent_std

    def latent(self, s_standardized: torch.Tensor) -> torch.Tensor:
        return s_standardized * self.latent_std + self.latent_mean


class EndToEndTracker(nn.Module):
    """The end-to-end baseline: g_1 and the same LSTM, then an MLP (the decoder's widths) straight to
    [real(vec(H)), imag(vec(H))] in channel units: its head grows with N_B N_U."""

    def __init__(self, config: ChannelEstimationConfig):
        super().__init__()
        width, hidden = config.mlp_width, config.lstm_hidden
        self.num_bs, self.num_ue = config.num_bs_antennas, config.num_ue_antennas
        self.g1 = mlp((2 * config.num_observations, width, hidden))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=config.lstm_layers, batch_first=True)
        self.head = mlp((hidden, *config.decoder_widths, 2 * self.num_bs * self.num_ue))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """y (B, T, 2 M_B M_U) -> Ĥ (B, T, N_B, N_U) complex, channel units."""
        hidden, _ = self.lstm(self.g1(y))
        out = self.head(hidden)
        n = self.num_bs * self.num_ue
        return ivec(torch.complex(out[..., :n], out[..., n:]), self.num_bs, self.num_ue)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
