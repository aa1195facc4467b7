"""Temporal context encoder (section III-B2): multi-scale CNN (eq. (10)), three hybrid RNN-CNN blocks with
truncated bidirectional recurrence (eqs. (11), (12)), and a deep 2-D CNN head (eq. (13)).

The recurrent cell is a GRU (the paper says "RNN"). The ``lstm`` baseline of Table II replaces each hybrid RNN-CNN
block by a plain (causal, unidirectional) LSTM layer, everything else unchanged: no truncated bidirectional
recurrence (eq. (11)) and no multi-scale convolution (eq. (12)), as "a conventional LSTM architecture".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.beam_map.feature_extractor import DoubleMultiScaleConv


class MultiScaleFeatureCNN(nn.Module):
    """eq. (10): z4 = [z3, f_c3(z3), f_c4(z3), f_c5(z3)], convolutions over the feature axis with different
    kernels and strides. (B, L, F) -> (B, L, F_out)."""

    def __init__(self, feature_dim: int, channels: int = 4):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(1, channels, 3, stride=1, padding=1),  # f_c3
                                    nn.Conv1d(1, channels, 5, stride=2, padding=2),  # f_c4
                                    nn.Conv1d(1, channels, 7, stride=4, padding=3)])  # f_c5
        self.out_dim = feature_dim + sum(channels * math.ceil(feature_dim / s) for s in (1, 2, 4))

    def forward(self, z3: torch.Tensor) -> torch.Tensor:
        b, l, f = z3.shape
        x = z3.reshape(b * l, 1, f)
        parts = [z3] + [torch.relu(conv(x)).reshape(b, l, -1) for conv in self.convs]
        return torch.cat(parts, dim=-1)


def truncated_bidirectional(forward_out: torch.Tensor, backward_out: torch.Tensor, truncation_len: int) -> torch.Tensor:
    """eq. (11): the first ε samples use only the backward RNN, the last ε only the forward RNN (their own initial
    states are biased there), the rest the mean of both. Inputs (B, L, H), backward already flipped back in time."""
    l = forward_out.shape[1]
    eps = min(truncation_len, l // 2)
    out = (forward_out + backward_out) / 2
    if eps > 0:
        out = torch.cat([backward_out[:, :eps], out[:, eps:l - eps], forward_out[:, l - eps:]], dim=1)
    return out


class HybridRNNCNNBlock(nn.Module):
    """Bidirectional RNN with truncation (eq. (11)) then double multi-scale convolution (eq. (12))."""

    def __init__(self, in_dim: int, hidden: int, window: int, truncation_len: int):
        super().__init__()
        self.forward_rnn = nn.GRU(in_dim, hidden, batch_first=True)  # f_r1
        self.backward_rnn = nn.GRU(in_dim, hidden, batch_first=True)  # f_r2
        self.truncation_len = truncation_len
        self.refine = DoubleMultiScaleConv(hidden, window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fwd, _ = self.forward_rnn(x)
        bwd, _ = self.backward_rnn(torch.flip(x, dims=[1]))
        z5 = truncated_bidirectional(fwd, torch.flip(bwd, dims=[1]), self.truncation_len)
        return self.refine(z5)  # z^(6)


class LSTMBlock(nn.Module):
    """The ``lstm`` baseline's block: one causal LSTM layer. (B, L, in_dim) -> (B, L, hidden)."""

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


class TemporalContextEncoder(nn.Module):
    """z^(3) (B, L, F) -> ẑ (B, L, D)."""

    def __init__(self, feature_dim: int, widths: tuple[int, ...], window: int, truncation_len: int,
                 cnn_channels: int, latent_dim: int, cell: str = "gru"):
        super().__init__()
        self.multi_scale = MultiScaleFeatureCNN(feature_dim)
        dims = [self.multi_scale.out_dim] + list(widths)
        if cell not in ("gru", "lstm"):
            raise ValueError(f"rnn cell must be gru (proposed) or lstm (baseline), got {cell!r}")
        self.blocks = nn.ModuleList(
            HybridRNNCNNBlock(dims[i], dims[i + 1], window, truncation_len) if cell == "gru"
            else LSTMBlock(dims[i], dims[i + 1]) for i in range(len(widths)))
        side = int(math.isqrt(widths[-1]))
        self.side = side
        self.to_square = nn.Linear(widths[-1], side * side)  # reshape(z7) to a side x side map
        # f_cnn; GroupNorm after every convolution keeps the sample-to-sample variation of the features (without it
        # three default-initialized convolutions shrink it ~100x and the encoder starts input-independent)
        self.cnn = nn.Sequential(
            nn.Conv2d(1, cnn_channels, 3, padding=1), nn.GroupNorm(1, cnn_channels), nn.GELU(),
            nn.Conv2d(cnn_channels, 2 * cnn_channels, 3, padding=1, stride=2), nn.GroupNorm(1, 2 * cnn_channels),
            nn.GELU(),
            nn.Conv2d(2 * cnn_channels, 2 * cnn_channels, 3, padding=1), nn.GroupNorm(1, 2 * cnn_channels), nn.GELU())
        flat = 2 * cnn_channels * math.ceil(side / 2) ** 2
        self.head = nn.Sequential(nn.Linear(flat, latent_dim), nn.GELU(), nn.Linear(latent_dim, latent_dim))  # f_n3
        self.skip = nn.Linear(feature_dim, latent_dim)  # residual from z^(3) to ẑ (our addition)
        self.norm = nn.LayerNorm(latent_dim)  # ẑ at unit scale for the codebook

    def forward(self, z3: torch.Tensor) -> torch.Tensor:
        h = self.multi_scale(z3)  # z^(4): (B, L, F_out)
        for block in self.blocks:
            h = block(h)  # z^(6) ... z^(7)
        b, l, _ = h.shape
        square = self.to_square(h).reshape(b * l, 1, self.side, self.side)
        z_hat = self.head(self.cnn(square).flatten(1)).reshape(b, l, -1) + self.skip(z3)  # eq. (13)
        return self.norm(z_hat)  # ẑ: (B, L, latent_dim)
