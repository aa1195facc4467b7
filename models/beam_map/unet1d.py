"""Attention-augmented 1-D UNet f_ε(g^(t), z̈, t) of the diffusion decoder (section III-D, Fig. 3).

The CSI vector (N_b·|W| entries) is a 1-D signal. Input -> self-attention and cross-attention to the condition z̈
(split into ``condition_tokens`` tokens) -> two down-sampling stages -> bottleneck with attention -> two
up-sampling stages with skip connections -> predicted noise, same shape as the input.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the diffusion step, (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / max(half - 1, 1))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm1 = nn.GroupNorm(min(8, c_out), c_out)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = nn.functional.silu(self.norm1(self.conv1(x))) + self.emb(emb)[:, :, None]
        h = nn.functional.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class Attention1d(nn.Module):
    """Self-attention over positions, or cross-attention to condition tokens when ``context`` is given."""

    def __init__(self, channels: int, heads: int = 4, context_dim: int | None = None):
        super().__init__()
        heads = max(1, min(heads, channels // 8))
        self.norm = nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True,
                                          kdim=context_dim or channels, vdim=context_dim or channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(x.transpose(1, 2))  # (B, L, C)
        kv = h if context is None else context
        out, _ = self.attn(h, kv, kv, need_weights=False)
        return x + out.transpose(1, 2)


class ConditionalUNet1d(nn.Module):
    """f_ε: (x_t (B, N), z̈ (B, D), t (B,)) -> ε̂ (B, N)."""

    def __init__(self, num_entries: int, latent_dim: int, channels: int, condition_tokens: int):
        super().__init__()
        self.num_entries = num_entries
        self.padded = int(math.ceil(num_entries / 4) * 4)
        c = channels
        emb = 4 * c
        self.time_mlp = nn.Sequential(nn.Linear(c, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.cond_tokens = condition_tokens
        self.cond_proj = nn.Linear(latent_dim // condition_tokens, c)
        self.cond_global = nn.Linear(latent_dim, emb)
        self.position = nn.Parameter(torch.randn(1, c, self.padded) * 0.02)
        self.inp = nn.Conv1d(1, c, 3, padding=1)
        self.self_attn = Attention1d(c)
        self.cross_attn = Attention1d(c, context_dim=c)
        self.down1 = ResBlock(c, c, emb)
        self.pool1 = nn.Conv1d(c, c, 4, stride=2, padding=1)
        self.down2 = ResBlock(c, 2 * c, emb)
        self.pool2 = nn.Conv1d(2 * c, 2 * c, 4, stride=2, padding=1)
        self.mid1 = ResBlock(2 * c, 2 * c, emb)
        self.mid_attn = Attention1d(2 * c)
        self.mid_cross = Attention1d(2 * c, context_dim=c)
        self.mid2 = ResBlock(2 * c, 2 * c, emb)
        self.up2 = nn.ConvTranspose1d(2 * c, 2 * c, 4, stride=2, padding=1)
        self.dec2 = ResBlock(4 * c, c, emb)
        self.up1 = nn.ConvTranspose1d(c, c, 4, stride=2, padding=1)
        self.dec1 = ResBlock(2 * c, c, emb)
        self.out = nn.Conv1d(c, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t: torch.Tensor, z_cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        b = x_t.shape[0]
        x = nn.functional.pad(x_t, (0, self.padded - self.num_entries))[:, None, :]  # (B, 1, N')
        context = self.cond_proj(z_cond.reshape(b, self.cond_tokens, -1))  # (B, n_tok, C)
        emb = self.time_mlp(timestep_embedding(t, self.position.shape[1])) + self.cond_global(z_cond)
        h0 = self.inp(x) + self.position
        h0 = self.cross_attn(self.self_attn(h0), context)
        h1 = self.down1(h0, emb)  # (B, C, N')
        h2 = self.down2(self.pool1(h1), emb)  # (B, 2C, N'/2)
        m = self.mid1(self.pool2(h2), emb)  # (B, 2C, N'/4)
        m = self.mid2(self.mid_cross(self.mid_attn(m), context), emb)
        u2 = self.dec2(torch.cat([self.up2(m), h2], dim=1), emb)  # (B, C, N'/2)
        u1 = self.dec1(torch.cat([self.up1(u2), h1], dim=1), emb)  # (B, C, N')
        return self.out(u1)[:, 0, : self.num_entries]
