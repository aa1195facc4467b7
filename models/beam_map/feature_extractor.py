"""CSI feature extractor (section III-B1): two stacked attention-convolutional blocks and an FCN.

Input per time step l: the masked sparse CSI g̊_l and mask m_l over N_b·|W| entries. Each base station's beams
form one token [g̊_l,b, m_l,b] plus a learned embedding of which base station it is; a Transformer attends across
the tokens (eq. (8)); then each token's feature sequence is convolved over the k preceding and the k following samples
at several kernel sizes (``f_c1``, ``f_c2``) and fused by a feed-forward layer (``f_n1``, eq. (9)).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from radiomap_assets.domain.beam_layout import BeamLayout


def masked_moving_average(g: torch.Tensor, m: torch.Tensor, half_width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per CSI entry, the mean of its observed values over samples l-half_width..l+half_width of the window, and the
    share of those samples that observed it. g, m (B, L, N) -> (B, L, N), (B, L, N); entries nobody observed in
    the span are 0 with share 0. Parameter-free (no label, no learning): see ``CSIFeatureExtractor``."""
    b, l, n = g.shape
    w = 2 * half_width + 1
    mf = m.to(g.dtype)

    def window_sum(x: torch.Tensor) -> torch.Tensor:
        padded = nn.functional.pad(x.transpose(1, 2), (half_width + 1, half_width))  # (B, N, L + w)
        c = padded.cumsum(dim=-1)
        return (c[..., w:] - c[..., :-w]).transpose(1, 2)  # (B, L, N)

    count = window_sum(mf)
    mean = window_sum(g * mf) / count.clamp_min(1.0)
    return mean, count / w


class DoubleMultiScaleConv(nn.Module):
    """eqs. (9) and (12): causal multi-scale convs over samples l-k..l and anti-causal ones over l..l+k, fused.

    (B, L, C) -> (B, L, C_out)."""

    def __init__(self, channels: int, window: int, out_channels: int | None = None):
        super().__init__()
        out_channels = out_channels or channels
        self.kernels = sorted({2, max(2, (window + 2) // 2), window + 1})
        branch = max(4, channels // 2)
        self.past = nn.ModuleList(nn.Conv1d(channels, branch, k) for k in self.kernels)  # f_c1 / f_c6
        self.future = nn.ModuleList(nn.Conv1d(channels, branch, k) for k in self.kernels)  # f_c2 / f_c7
        self.fuse = nn.Sequential(nn.Linear(2 * branch * len(self.kernels), out_channels), nn.GELU(),
                                  nn.Linear(out_channels, out_channels))  # f_n1 / f_n2
        self.skip = nn.Identity() if out_channels == channels else nn.Linear(channels, out_channels)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, C, L)
        outs = []
        for k, conv in zip(self.kernels, self.past):
            outs.append(conv(nn.functional.pad(h, (k - 1, 0), mode="replicate")))  # sees l-k+1..l
        for k, conv in zip(self.kernels, self.future):
            outs.append(conv(nn.functional.pad(h, (0, k - 1), mode="replicate")))  # sees l..l+k-1
        fused = self.fuse(torch.cat(outs, dim=1).transpose(1, 2))  # (B, L, C_out)
        return self.norm(self.skip(x) + fused)


class AttentionConvBlock(nn.Module):
    """Transformer over beam tokens, then double multi-scale convolution over time of every token's features."""

    def __init__(self, token_dim: int, num_heads: int, window: int):
        super().__init__()
        self.transformer = nn.TransformerEncoderLayer(token_dim, num_heads, dim_feedforward=2 * token_dim,
                                                      dropout=0.0, batch_first=True, norm_first=True)
        self.temporal = DoubleMultiScaleConv(token_dim, window)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, l, n, d = tokens.shape  # (B, L, N_tok, d)
        # On the CPU the plain (math) attention kernel: for N_b tokens with 4-wide heads the fused flash kernel is
        # slower; a default training step took 12-19 % less time with the math one (2 cores, 2026-11-28)
        with sdpa_kernel(SDPBackend.MATH) if tokens.device.type == "cpu" else contextlib.nullcontext():
            h = self.transformer(tokens.reshape(b * l, n, d)).reshape(b, l, n, d)  # eq. (8)
        h = h.permute(0, 2, 1, 3).reshape(b * n, l, d)  # every token's sequence over time
        h = self.temporal(h).reshape(b, n, l, d).permute(0, 2, 1, 3)  # eq. (9)
        return h


class CSIFeatureExtractor(nn.Module):
    """(g̊, m) of shape (B, L, N_b·|W|) each -> z^(3) of shape (B, L, feature_dim).

    Tokens (our choice; eq. (8) only says "a Transformer block" over [g̊_l, m_l]): one token per base station,
    holding that base station's |W| beam gains and their mask, embedded linearly plus a learned base-station
    embedding. Beam-space dependencies within a base station are mixed by the token embedding, those across base
    stations by the attention. One token per (base station, beam) entry (80 tokens of 2 numbers) cost about 25x
    more per sample, took 43 % of a training step on 2 CPU cores, and learned no better (issue 10)."""

    def __init__(self, num_entries: int, beams_per_bs: int, token_dim: int, num_heads: int, window: int,
                 feature_dim: int, fill_half_widths: tuple[int, ...] = ()):
        super().__init__()
        self.layout = BeamLayout.from_entries(num_entries, beams_per_bs)
        num_bs = self.layout.num_bs
        self.fill_half_widths = tuple(fill_half_widths)
        channels = 2 * (1 + len(self.fill_half_widths))  # [g̊, m] and, per fill width, [ḡ, share]
        self.value = nn.Linear(channels * beams_per_bs, token_dim)  # [g̊_b, m_b] of one base station -> its token
        self.bs_embedding = nn.Parameter(torch.randn(num_bs, token_dim) * 0.1)
        self.blocks = nn.ModuleList(AttentionConvBlock(token_dim, num_heads, window) for _ in range(2))
        self.fcn = nn.Sequential(nn.Linear(num_bs * token_dim, 2 * feature_dim), nn.GELU(),
                                 nn.Linear(2 * feature_dim, feature_dim))  # f_NN1
        # Residual path from the raw sparse CSI [g̊, m] to z^(3) (our addition, not in the paper): without it the
        # token pathway starts out dominated by the sample-independent embeddings and the location regression sits
        # on the constant-output plateau for hundreds of steps on CPU budgets.
        self.direct = nn.Sequential(nn.Linear(channels * num_entries, 2 * feature_dim), nn.GELU(),
                                    nn.Linear(2 * feature_dim, feature_dim))
        self.norm = nn.LayerNorm(feature_dim)
        # observed gains are standardized, g_std = m (g - mean) / std, so an unobserved entry (0) sits at the mean of
        # the observed ones instead of at the noise floor; mean and std of the training data's observed entries
        # (label-free), set by ``set_input_statistics`` before training and stored with the weights. Raw [0, 1]
        # gains (mean 0.33) slowed the location fit about 2x per step on the default campaign (issue 10).
        self.register_buffer("input_mean", torch.tensor(0.0))
        self.register_buffer("input_std", torch.tensor(1.0))

    @torch.no_grad()
    def set_input_statistics(self, g_observed: torch.Tensor) -> None:
        """g_observed: the observed gains of the training data, any shape."""
        self.input_mean.fill_(float(g_observed.mean()))
        self.input_std.fill_(float(g_observed.std().clamp_min(1e-3)))

    def forward(self, g: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        b, l, n = g.shape
        m = m.to(g.dtype)
        g = m * (g - self.input_mean) / self.input_std
        channels = [g, m]
        for hw in self.fill_half_widths:
            channels.extend(masked_moving_average(g, m, hw))
        per_bs = torch.cat([self.layout.per_bs(x) for x in channels], dim=-1)
        tokens = self.value(per_bs) + self.bs_embedding  # (B, L, N_b, d); per_bs (B, L, N_b, channels·|W|)
        for block in self.blocks:
            tokens = block(tokens)
        z3 = self.fcn(tokens.reshape(b, l, -1)) + self.direct(torch.cat(channels, dim=-1))
        return self.norm(z3)  # z^(3): (B, L, feature_dim)
