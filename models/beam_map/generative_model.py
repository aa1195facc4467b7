"""The radio-map-embedded generative architecture (Fig. 1): CSI encoder -> radio map module -> diffusion decoder.

Shapes: g, m (B, L, N) with N = N_b·|W|; t_s (B, L); coarse p̄ (B, L, 2) in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from models.beam_map import losses
from models.beam_map.config import ModelConfig
from models.beam_map.diffusion import GaussianDiffusion
from models.beam_map.feature_extractor import CSIFeatureExtractor
from models.beam_map.radio_map import LocationPredictor, RadioMapCodebook, student_t_assignment
from models.beam_map.temporal_encoder import TemporalContextEncoder
from models.beam_map.unet1d import ConditionalUNet1d

if TYPE_CHECKING:
    from models.beam_map.training import WindowBatch


def loss_weights(c: ModelConfig, progress: float) -> dict[str, float]:
    """Weights of eq. (30) at ``progress`` (share of training done), see ``training_losses``: during the warm-up
    λ_c = 1 and no L_s, L_d; then the configured weights, λ_d ramped linearly over ``ramp_fraction`` of training
    (it reaches its value then, not at the last step)."""
    wf = c.warmup_fraction
    if progress < wf:
        return {"lambda_c": 1.0, "lambda_s": 0.0, "lambda_t": c.lambda_t, "lambda_d": 0.0}
    ramp = 1.0 if c.ramp_fraction <= 0 else min(1.0, (progress - wf) / c.ramp_fraction)
    return {"lambda_c": c.lambda_c, "lambda_s": c.lambda_s, "lambda_t": c.lambda_t, "lambda_d": c.lambda_d * ramp}


@dataclass
class EncoderOutput:
    z_hat: torch.Tensor  # (B, L, D) ẑ
    p_hat: torch.Tensor  # (B, L, 2) p̂ in metres
    z_quantized: torch.Tensor  # (B, L, D) z̈ = e_k
    cell: torch.Tensor  # (B, L) index k of the most likely grid cell (eq. (17))


class GenerativeBeamMapModel(nn.Module):
    def __init__(self, config: ModelConfig, cell_centres_m: torch.Tensor, grid_resolution_m: float,
                 rnn_cell: str = "gru"):
        super().__init__()
        self.config = config
        self.grid_resolution_m = grid_resolution_m
        self.rnn_cell = rnn_cell
        c = config
        self.feature_extractor = CSIFeatureExtractor(c.num_entries, c.beams_per_bs, c.token_dim, c.num_heads,
                                                     c.conv_window, c.feature_dim,
                                                     c.fill_half_widths)
        self.temporal_encoder = TemporalContextEncoder(c.feature_dim, c.rnn_widths, c.conv_window, c.truncation_len,
                                                       c.cnn_channels, c.latent_dim, rnn_cell)
        centre = cell_centres_m.float().mean(dim=0)
        self.location_predictor = LocationPredictor(c.latent_dim, centre, c.position_scale_m)
        self.codebook = RadioMapCodebook(cell_centres_m, c.latent_dim, c.ema_decay, c.ema_epsilon)
        self.denoiser = ConditionalUNet1d(c.num_entries, c.latent_dim, c.unet_channels, c.condition_tokens)
        self.diffusion = GaussianDiffusion(c.diffusion_steps, c.beta_start, c.beta_end)

    def encode(self, g: torch.Tensor, m: torch.Tensor) -> EncoderOutput:
        z3 = self.feature_extractor(g, m.float())  # (B, L, F)
        z_hat = self.temporal_encoder(z3)  # (B, L, D)
        p_hat = self.location_predictor(z_hat)  # eq. (14)
        b, l, d = z_hat.shape
        zq, k = self.codebook.quantize(z_hat.reshape(b * l, d), p_hat.reshape(b * l, 2))
        return EncoderOutput(z_hat, p_hat, zq.reshape(b, l, d), k.reshape(b, l))

    def training_losses(self, batch: "WindowBatch", generator: torch.Generator | None = None,
                        progress: float = 1.0) -> dict[str, torch.Tensor]:
        """All terms of eq. (30) for one batch; also updates the codebook by EMA (eq. (31)).

        ``progress`` in [0, 1] is the share of training done. The loss weights follow a schedule (our choice; the
        paper only says coarse locations are extracted "initially"): during the first ``warmup_fraction`` the
        location predictor is fitted to the coarse locations (λ_c = 1, no L_s, no L_d), as DEC initializes its
        clusters before the KL refinement; then the configured weights apply, with λ_d ramped up linearly over
        the next ``warmup_fraction``."""
        c = self.config
        g, m, p_coarse = batch.g, batch.m, batch.coarse
        out = self.encode(g, m)
        b, l, d = out.z_hat.shape
        flat_p = out.p_hat.reshape(b * l, 2)
        z_flat = out.z_hat.reshape(b * l, d)
        zq_flat = out.z_quantized.reshape(b * l, d)
        # L_s over K cells and the diffusion term are expectations over samples: a random subset of the batch
        perm = torch.randperm(b * l, generator=generator).to(g.device)
        sub, dsub = perm[: c.loss_subsample], perm[: c.diffusion_subsample]
        r = student_t_assignment(flat_p[sub], self.codebook.cell_centres_m, c.student_t_alpha, self.grid_resolution_m)
        # straight-through: the decoder sees e_k, its gradient reaches the encoder through ẑ
        cond = (z_flat + (zq_flat - z_flat).detach())[dsub]
        x0 = 2.0 * g.reshape(b * l, -1)[dsub] - 1.0
        terms = {
            "L_c": losses.coarse_location_loss(flat_p, p_coarse.reshape(b * l, 2)),
            "L_s": losses.clustering_kl_loss(r),
            "L_t": losses.triplet_loss(out.p_hat, batch.t_s, batch.trajectory, c.coherence_time_s,
                                       c.triplet_margin_m, generator),
            "L_d": losses.dynamics_loss(out.p_hat),
            "L_r_diffusion": self.diffusion.loss(self.denoiser, x0, cond, m.reshape(b * l, -1)[dsub], generator),
            "L_r_commitment": losses.commitment_loss(z_flat, zq_flat),
        }
        w = loss_weights(c, progress)
        terms["total"] = (w["lambda_s"] * terms["L_s"] + terms["L_r_diffusion"] + c.commitment * terms["L_r_commitment"]
                          + w["lambda_c"] * terms["L_c"] + w["lambda_t"] * terms["L_t"] + w["lambda_d"] * terms["L_d"])
        if self.training:
            self.codebook.ema_update(z_flat, out.cell.reshape(-1))
        return terms

    @torch.no_grad()
    def generate_csi(self, z_cond: torch.Tensor, sampler: str = "ddim", steps: int | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Full CSI g (B, N) in [0, 1] from radio-map vectors z̈ (B, D)."""
        n = self.config.num_entries
        if sampler == "ddpm":
            x0 = self.diffusion.sample_ddpm(self.denoiser, z_cond, n, generator)
        else:
            x0 = self.diffusion.sample_ddim(self.denoiser, z_cond, n, steps or self.config.ddim_steps, generator)
        return (x0 + 1.0) / 2.0
