"""The losses of seed 003: L_CI (eq. (7)), L_TC (eqs. (8)-(10)), L_LSTM (eq. (12)).

Ours where the paper is silent: L_CI is the mean over entries (the paper's squared norm divided by 2 N_B N_U) and
L_TC the mean over the K^2 pairs (||D - B||_F^2 / K^2), so that lambda of eq. (11) does not change with the array
size or the batch."""

from __future__ import annotations

import torch


def reconstruction_loss(v: torch.Tensor, v_hat: torch.Tensor) -> torch.Tensor:
    """L_CI of eq. (7): mean ||f(H) - d(e(f(H)) + n)||^2 per entry. v, v_hat (K, 2 N_B N_U)."""
    return ((v - v_hat) ** 2).mean()


def _standardized(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std().clamp_min(1e-8)


def squared_distances(x: torch.Tensor) -> torch.Tensor:
    """[x_i - x_j]^2 summed over the last dim: (K, d) -> (K, K)."""
    return ((x[:, None, :] - x[None, :, :]) ** 2).sum(dim=-1)


def temporal_correlation_loss(s: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """L_TC of eq. (8): ||D - B||_F^2 / K^2 with D, B the standardized squared distances of the latent states
    (eq. (9)) and of the positions (eq. (10)). s (K, S), positions (K, 2 or 3) metres."""
    D = _standardized(squared_distances(s))  # eq. (9), standardized as in eq. (8)
    B = _standardized(squared_distances(positions))  # eq. (10)
    return ((D - B) ** 2).mean()


def tracking_loss(s: torch.Tensor, s_hat: torch.Tensor, alpha: torch.Tensor, alpha_hat: torch.Tensor,
                  beta: torch.Tensor, beta_hat: torch.Tensor, lambda_alpha: float, lambda_beta: float
                  ) -> dict[str, torch.Tensor]:
    """L_LSTM of eq. (12), averaged over the batch too: s, s_hat (B, T, S); alpha, beta and estimates (B, T)."""
    latent = ((s - s_hat) ** 2).sum(dim=-1).mean()
    a = ((alpha - alpha_hat) ** 2).mean()
    b = ((beta - beta_hat) ** 2).mean()
    return {"total": latent + lambda_alpha * a + lambda_beta * b, "latent": latent, "alpha": a, "beta": b}
