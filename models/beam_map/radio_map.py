"""Radio map module (section III-C): location predictor (eq. (14)), Student-t soft assignment over the grid cells
(eq. (15)), and the radio-map codebook E in R^{K x D} quantized by physical proximity (eq. (17)) and updated by
exponential moving averages (eq. (31)).

K = the walkable cells of the site's model grid; ``cell_centres_m`` are their centres in metres.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn


class LocationPredictor(nn.Module):
    """eq. (14): p̂ = f_NN2(ẑ), in metres: centre + position_scale_m * MLP(ẑ)."""

    def __init__(self, latent_dim: int, centre_m: torch.Tensor, position_scale_m: float):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.GELU(), nn.Linear(latent_dim, 2))
        self.register_buffer("centre_m", centre_m.reshape(2).float())
        self.position_scale_m = position_scale_m

    def forward(self, z_hat: torch.Tensor) -> torch.Tensor:
        return self.centre_m + self.position_scale_m * self.mlp(z_hat)


def student_t_assignment(p_hat: torch.Tensor, cell_centres_m: torch.Tensor, alpha: float,
                         scale_m: float = 1.0) -> torch.Tensor:
    """eq. (15): r_lk ∝ (1 + ||p̂_l - x_k||^2 / alpha)^(-(alpha + 1) / 2). p̂ (N, 2), x (K, 2) -> r (N, K).

    Distances are measured in units of ``scale_m`` metres (the grid resolution), so alpha keeps its meaning."""
    d2 = torch.cdist(p_hat / scale_m, cell_centres_m / scale_m).pow(2)
    logits = -(alpha + 1.0) / 2.0 * torch.log1p(d2 / alpha)
    return torch.softmax(logits, dim=-1)


def nearest_cell(p_hat: torch.Tensor, cell_centres_m: torch.Tensor, tree: "cKDTree | None" = None) -> torch.Tensor:
    """eq. (17): k = argmax_k r_lk, which for a Student-t kernel is the nearest cell centre. (N, 2) -> (N,) on p̂'s
    device. By a k-d tree over the centres (``tree``: one built earlier over the same centres, to reuse it); a
    brute-force distance to all K cells took about an eighth of a training step at K = 12,000."""
    if tree is None:
        tree = cKDTree(cell_centres_m.detach().cpu().double().numpy())
    _, k = tree.query(p_hat.detach().cpu().double().numpy().reshape(-1, 2))
    return torch.from_numpy(np.asarray(k, dtype=np.int64)).to(p_hat.device)


class RadioMapCodebook(nn.Module):
    """The radio-map embedding E (K x D), one vector per walkable grid cell, EMA-updated (eq. (31))."""

    def __init__(self, cell_centres_m: torch.Tensor, latent_dim: int, decay: float, epsilon: float):
        super().__init__()
        k = cell_centres_m.shape[0]
        self.register_buffer("cell_centres_m", cell_centres_m.float())  # (K, 2)
        self.register_buffer("embedding", torch.randn(k, latent_dim) * 0.01)  # E: (K, D)
        self.register_buffer("ema_sum", torch.zeros(k, latent_dim))  # m_k
        self.register_buffer("ema_count", torch.zeros(k))  # N_k
        self.decay = decay
        self.epsilon = epsilon

    @property
    def num_cells(self) -> int:
        return self.embedding.shape[0]

    def nearest(self, p_hat: torch.Tensor) -> torch.Tensor:
        """eq. (17) for this codebook's cells, with its k-d tree built once (training asks every step)."""
        if getattr(self, "_tree_n", -1) != self.num_cells:
            self._tree = cKDTree(self.cell_centres_m.detach().cpu().double().numpy())
            self._tree_n = self.num_cells
        return nearest_cell(p_hat, self.cell_centres_m, self._tree)

    def quantize(self, z_hat: torch.Tensor, p_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """eq. (17): z̈_l = e_k with k the cell nearest to p̂_l. (N, D), (N, 2) -> z̈ (N, D), k (N,)."""
        k = self.nearest(p_hat)
        return self.embedding[k], k

    @torch.no_grad()
    def ema_update(self, z_hat: torch.Tensor, k: torch.Tensor) -> None:
        """eq. (31): m_k <- γ m_k + (1-γ) Σ_{i∈I_k} ẑ_i ; N_k <- γ N_k + (1-γ)|I_k| ; e_k = m_k / (N_k + ζ).

        Only cells selected in this batch are updated (the others keep their vectors instead of decaying)."""
        onehot_sum = torch.zeros_like(self.ema_sum).index_add_(0, k, z_hat.detach().to(self.ema_sum.dtype))
        counts = torch.zeros_like(self.ema_count).index_add_(0, k, torch.ones_like(k, dtype=self.ema_count.dtype))
        used = counts > 0
        g = self.decay
        self.ema_sum[used] = g * self.ema_sum[used] + (1 - g) * onehot_sum[used]
        self.ema_count[used] = g * self.ema_count[used] + (1 - g) * counts[used]
        self.embedding[used] = self.ema_sum[used] / (self.ema_count[used, None] + self.epsilon)

    def visited(self) -> torch.Tensor:
        return self.ema_count > 0
