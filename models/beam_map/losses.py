"""Training objective of section III-E, eqs. (23)-(30). Locations in metres; each function documents shapes."""

from __future__ import annotations

import torch


def coarse_location_loss(p_hat: torch.Tensor, p_coarse: torch.Tensor) -> torch.Tensor:
    """eq. (23): L_c = mean ||p̂_l - p̄_l||. (N, 2), (N, 2) -> scalar."""
    return torch.linalg.norm(p_hat - p_coarse, dim=-1).mean()


def target_distribution(r: torch.Tensor) -> torch.Tensor:
    """eq. (24): p_lk = (r_lk^2 / Σ_l r_lk) / Σ_k' (r_lk'^2 / Σ_l r_lk'). (N, K) -> (N, K), no gradient."""
    with torch.no_grad():
        weight = r ** 2 / r.sum(dim=0, keepdim=True).clamp_min(1e-12)
        return weight / weight.sum(dim=1, keepdim=True).clamp_min(1e-12)


def clustering_kl_loss(r: torch.Tensor) -> torch.Tensor:
    """eq. (25): L_s = Σ_l Σ_k p_lk log(p_lk / r_lk), averaged over samples l."""
    p = target_distribution(r)
    return (p * (torch.log(p.clamp_min(1e-12)) - torch.log(r.clamp_min(1e-12)))).sum(dim=1).mean()


def sample_triplets(t_s: torch.Tensor, trajectory: torch.Tensor, coherence_time_s: float,
                    generator: torch.Generator | None = None):
    """eq. (26) over every sample of the batch, not only those of one window: for every anchor n a positive c of
    the same trajectory with 0 < |t_n - t_c| <= T_c and a negative f with |t_n - t_f| > T_c, drawn uniformly
    among the valid ones. A sample of another trajectory counts as a negative (its time distance is taken as
    infinite; our choice, eq. (26) is written for one trajectory). Negatives drawn only inside the anchor's own
    window lie at most one window away and are easy once the window is ordered; drawn from the whole batch they
    include the far side of the trajectory, which keeps the recovered trajectory from folding onto itself.

    t_s (B, L) seconds from the trajectory's start, trajectory (B, L) integer id -> flat indices into B·L:
    anchors, positives, negatives (B·L,) each and a validity mask (B·L,)."""
    t = t_s.reshape(-1)
    tid = trajectory.reshape(-1)
    n = t.shape[0]
    same = tid[:, None] == tid[None, :]
    dt = (t[:, None] - t[None, :]).abs()  # (BL, BL)
    pos = same & (dt > 0) & (dt <= coherence_time_s)
    neg = ~same | (dt > coherence_time_s)
    u = torch.rand((n, n), generator=generator).to(t_s.device)
    c = torch.where(pos, u, -1.0).argmax(dim=-1)
    f = torch.where(neg, u, -1.0).argmax(dim=-1)
    valid = pos.any(dim=-1) & neg.any(dim=-1)
    return torch.arange(n, device=t_s.device), c, f, valid


def triplet_loss(p_hat: torch.Tensor, t_s: torch.Tensor, trajectory: torch.Tensor, coherence_time_s: float,
                 margin_m: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """eq. (27): mean over triplets of max(||p̂_n - p̂_c|| - ||p̂_n - p̂_f|| + Q_t, 0). p̂ (B, L, 2), t_s and
    trajectory (B, L)."""
    n, c, f, valid = sample_triplets(t_s, trajectory, coherence_time_s, generator)
    p = p_hat.reshape(-1, 2)
    d_pos = torch.linalg.norm(p[n] - p[c], dim=-1)
    d_neg = torch.linalg.norm(p[n] - p[f], dim=-1)
    hinge = torch.relu(d_pos - d_neg + margin_m)
    return (hinge * valid).sum() / valid.sum().clamp_min(1)


def dynamics_loss(p_hat: torch.Tensor) -> torch.Tensor:
    """eq. (28): L_d = 1/(L-2) Σ ||p̂_{l+1} - 2 p̂_l + p̂_{l-1}||^2 over each window. p̂ (B, L, 2)."""
    if p_hat.shape[1] < 3:
        return p_hat.new_zeros(())
    accel = p_hat[:, 2:] - 2 * p_hat[:, 1:-1] + p_hat[:, :-2]
    return accel.pow(2).sum(dim=-1).mean()


def commitment_loss(z_hat: torch.Tensor, z_quantized: torch.Tensor) -> torch.Tensor:
    """Second term of eq. (29), with the stop-gradient on the codebook side (the codebook is updated by EMA, eq.
    (31), so only the encoder can move): ||ẑ - sg(z̈)||^2."""
    return (z_hat - z_quantized.detach()).pow(2).sum(dim=-1).mean()
