"""Eqs. (5)-(6): the complex H <-> the real vector v = [(vec(H_a) - alpha) / beta, vec(H_p) / pi] the networks see,
with alpha = mean(H_a), beta = std(H_a) over the entries of one sample (H = H_a ⊙ exp(j H_p)). vec is column-wise
as in eq. (2). Torch, batched over leading dims."""

from __future__ import annotations

import math

import torch


def vec(H: torch.Tensor) -> torch.Tensor:
    """(..., N_B, N_U) -> (..., N_B N_U), column-wise."""
    return H.transpose(-1, -2).reshape(H.shape[:-2] + (-1,))


def ivec(v: torch.Tensor, num_bs: int, num_ue: int) -> torch.Tensor:
    """ivec(v, N_B, N_U): (..., N_B N_U) -> (..., N_B, N_U)."""
    return v.reshape(v.shape[:-1] + (num_ue, num_bs)).transpose(-1, -2)


REPRESENTATIONS = ("amplitude_phase", "real_imag")


def to_features(H: torch.Tensor, representation: str = "amplitude_phase", eps: float = 1e-8
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """{v, alpha, beta} = f(H), eq. (5): H (..., N_B, N_U) complex -> v (..., 2 N_B N_U), alpha (...,), beta (...,).

    ``representation="real_imag"`` (ours, a declared variant): v = [real(vec(H)), imag(vec(H))] / beta with beta the
    RMS of |H| and alpha = 0: no phase wraps at +-pi for the decoder to learn, the same two scalars to track."""
    h = vec(H)
    amplitude = h.abs()
    if representation == "real_imag":
        beta = amplitude.pow(2).mean(dim=-1).sqrt().clamp_min(eps)
        return torch.cat([h.real, h.imag], dim=-1) / beta[..., None], torch.zeros_like(beta), beta
    if representation != "amplitude_phase":
        raise ValueError(f"unknown representation {representation!r}; choose one of {REPRESENTATIONS}")
    alpha = amplitude.mean(dim=-1)
    beta = amplitude.std(dim=-1, unbiased=False).clamp_min(eps)
    v = torch.cat([(amplitude - alpha[..., None]) / beta[..., None], h.angle() / math.pi], dim=-1)
    return v, alpha, beta


def from_features(v: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, num_bs: int, num_ue: int,
                  representation: str = "amplitude_phase") -> torch.Tensor:
    """H = f^-1(v, alpha, beta), eq. (6): v (..., 2 N_B N_U) -> H (..., N_B, N_U) complex."""
    n = num_bs * num_ue
    if representation == "real_imag":
        return ivec(torch.complex(v[..., :n], v[..., n:]) * beta[..., None], num_bs, num_ue)
    amplitude = beta[..., None] * v[..., :n] + alpha[..., None]
    phase = math.pi * v[..., n:]
    return ivec(torch.complex(amplitude * torch.cos(phase), amplitude * torch.sin(phase)), num_bs, num_ue)
