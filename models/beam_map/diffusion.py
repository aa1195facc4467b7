"""Conditional DDPM (section III-D): forward process (eqs. (18)-(20)), reverse process (eq. (22)), a DDIM sampler
for fast inference, and the noise-prediction loss of eq. (29).

Only sparse CSI is ever observed, so the noise-prediction loss is taken over the observed entries (mask m):
the decoder learns the full vector because different samples of the same cell observe different beams.
The diffusion works on x = 2 g - 1 (g in [0, 1]).
"""

from __future__ import annotations

import torch
from torch import nn


REFERENCE_STEPS = 1000  # T for which beta_start / beta_end are given (Ho et al.: 1e-4 .. 0.02 over 1000 steps)


def linear_noise_schedule(steps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """η_1..η_T of eq. (18), linear, with the endpoints given for T = 1000 rescaled by 1000 / T (as improved DDPM
    does), so that x_T is pure noise at any T: ᾱ_T ≈ exp(-Σ η_t) stays about 4e-5 whatever T is. Used unscaled
    with T = 200, ᾱ_T was 0.13 (x_T still held 0.36 of the signal) and sampling started from the wrong
    distribution. (T,) float64, each η_t capped at 0.999."""
    scale = REFERENCE_STEPS / steps
    return torch.linspace(beta_start * scale, beta_end * scale, steps, dtype=torch.float64).clamp(max=0.999)


class GaussianDiffusion(nn.Module):
    def __init__(self, steps: int, beta_start: float, beta_end: float):
        super().__init__()
        eta = linear_noise_schedule(steps, beta_start, beta_end)  # η_t, eq. (18)
        alpha = 1.0 - eta
        alpha_bar = torch.cumprod(alpha, dim=0)
        self.steps = steps
        self.register_buffer("eta", eta.float())
        self.register_buffer("alpha", alpha.float())
        self.register_buffer("alpha_bar", alpha_bar.float())
        self.register_buffer("alpha_bar_prev", torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]]).float())

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """eq. (20): x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε."""
        ab = self.alpha_bar[t][:, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def loss(self, denoiser, x0: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """First term of eq. (29): E ||ε - f_ε(x_t, z̈, t)||^2 over the observed entries."""
        b = x0.shape[0]
        # drawn on the CPU (the generator's device), so runs on CPU and GPU use the same random numbers
        t = torch.randint(0, self.steps, (b,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        pred = denoiser(self.q_sample(x0, t, noise), cond, t)
        err = (pred - noise) ** 2
        if mask is None:
            return err.mean()
        w = mask.float()
        return (err * w).sum() / w.sum().clamp_min(1.0)

    @torch.no_grad()
    def sample_ddpm(self, denoiser, cond: torch.Tensor, num_entries: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """eq. (22), the full T-step reverse chain from x_T ~ N(0, I). Returns x_0 (B, N)."""
        x = torch.randn((cond.shape[0], num_entries), generator=generator)
        for t in reversed(range(self.steps)):
            tt = torch.full((cond.shape[0],), t, dtype=torch.long)
            eps = denoiser(x, cond, tt)
            mean = (x - self.eta[t] / (1 - self.alpha_bar[t]).sqrt() * eps) / self.alpha[t].sqrt()
            if t > 0:
                var = (1 - self.alpha_bar_prev[t]) / (1 - self.alpha_bar[t]) * self.eta[t]
                x = mean + var.sqrt() * torch.randn(x.shape, generator=generator)
            else:
                x = mean
        return x.clamp(-1.0, 1.0)

    @torch.no_grad()
    def sample_ddim(self, denoiser, cond: torch.Tensor, num_entries: int, steps: int,
                    generator: torch.Generator | None = None, eta_ddim: float = 0.0) -> torch.Tensor:
        """DDIM (Song et al.) on an evenly spaced subsequence of ``steps`` timesteps; eta_ddim = 0 is deterministic
        given x_T. Returns x_0 (B, N)."""
        ts = torch.linspace(self.steps - 1, 0, steps).round().long().unique_consecutive()
        x = torch.randn((cond.shape[0], num_entries), generator=generator)
        for i, t in enumerate(ts):
            tt = torch.full((cond.shape[0],), int(t), dtype=torch.long)
            eps = denoiser(x, cond, tt)
            ab = self.alpha_bar[t]
            ab_prev = self.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1.0, 1.0)
            sigma = eta_ddim * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma ** 2).clamp_min(0).sqrt() * eps
            if eta_ddim > 0 and i + 1 < len(ts):
                x = x + sigma * torch.randn(x.shape, generator=generator)
        return x.clamp(-1.0, 1.0)
