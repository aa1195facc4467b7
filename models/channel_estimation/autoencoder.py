"""Step 1 (section IV, Fig. 1): the autoencoder e(.), d(.) between the feature vector v = f(H) (eq. (5)) of size
2 N_B N_U and the latent state s of size S. Both are MLPs, ReLU on the hidden layers and a linear output (VI)."""

from __future__ import annotations

import torch
from torch import nn

from models.channel_estimation.config import ChannelEstimationConfig


def mlp(widths: tuple[int, ...] | list[int]) -> nn.Sequential:
    """Linear layers of the given widths (input first, output last), ReLU between them, a linear output."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ChannelAutoencoder(nn.Module):
    def __init__(self, config: ChannelEstimationConfig):
        super().__init__()
        self.num_bs, self.num_ue = config.num_bs_antennas, config.num_ue_antennas
        self.representation = config.representation
        features = 2 * self.num_bs * self.num_ue
        self.encoder = mlp((features, *config.encoder_widths, config.latent_dim))  # e(.): v -> s
        self.decoder = mlp((config.latent_dim, *config.decoder_widths, features))  # d(.): s -> v

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        """v (..., 2 N_B N_U) -> s (..., S)."""
        return self.encoder(v)

    def decode(self, s: torch.Tensor) -> torch.Tensor:
        """s (..., S) -> v̂ (..., 2 N_B N_U)."""
        return self.decoder(s)
