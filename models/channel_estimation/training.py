"""Training (through ``models.nn.fit``) and inference of seed 003: the autoencoder on the static set (eq. (11)), the
LSTM tracker on channel sequences (eq. (12)) with the decoder fixed, the end-to-end LSTM baseline, and the channel
estimates of eq. (13).

Data are in channel units (``pilots.ChannelScale``): ``H`` (N, N_B, N_U) complex at one subcarrier, ``positions``
(N, 2 or 3) metres. The LSTM trains on T-length sequences of indices into such a bank (``SequenceSampler``): walks
over the static set's nearest neighbours (section V-B: "T-length channel sequences following continuous
trajectories from the dataset") or windows of recorded trajectories. Every step draws its batch and its pilot
noise from the fit loop's seeded generators, so a run resumed from a checkpoint continues as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.spatial import cKDTree

from models.channel_estimation.autoencoder import ChannelAutoencoder
from models.channel_estimation.config import ChannelEstimationConfig
from models.channel_estimation.losses import reconstruction_loss, temporal_correlation_loss, tracking_loss
from models.channel_estimation.pilots import PilotDesign
from models.channel_estimation.preprocessing import from_features, to_features
from models.channel_estimation.tracker import EndToEndTracker, LatentTracker, pilot_features
from models.nn.fit import Checkpointing, FitResult, fit, pick_device

SequenceSampler = Callable[[np.random.Generator, int, int], np.ndarray]  # (rng, batch, T) -> (batch, T) indices


def cosine_lr(learning_rate: float, floor: float = 0.05) -> Callable[[float], float]:
    return lambda progress: learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def neighbour_walk_sampler(positions: np.ndarray, neighbours: int = 8, momentum: float = 1.0) -> SequenceSampler:
    """Walks over a static set: each step goes to one of the ``neighbours`` nearest samples, preferring to keep
    its heading (score = momentum * cos(turn) + N(0, 1)) and never straight back."""
    xy = np.asarray(positions, dtype=np.float64)[:, :2]
    _, nearest = cKDTree(xy).query(xy, k=neighbours + 1)
    nearest = nearest[:, 1:]  # (N, k), without the sample itself

    def sample(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
        idx = np.empty((batch, length), dtype=np.int64)
        idx[:, 0] = rng.integers(0, len(xy), batch)
        heading = rng.normal(size=(batch, 2))
        previous = idx[:, 0].copy()
        for t in range(1, length):
            cand = nearest[idx[:, t - 1]]  # (B, k)
            step = xy[cand] - xy[idx[:, t - 1]][:, None]
            cos = (step * heading[:, None]).sum(-1) / np.maximum(
                np.linalg.norm(step, axis=-1) * np.linalg.norm(heading, axis=-1, keepdims=True), 1e-9)
            score = momentum * cos + rng.normal(size=cos.shape)
            score[cand == previous[:, None]] = -np.inf
            pick = cand[np.arange(batch), np.argmax(score, axis=1)]
            heading = xy[pick] - xy[idx[:, t - 1]]
            previous = idx[:, t - 1]
            idx[:, t] = pick
        return idx

    return sample


def trajectory_window_sampler(trajectory_ids: np.ndarray) -> SequenceSampler:
    """Windows of consecutive samples of one trajectory (rows in time order), drawn proportionally to length."""
    ids = np.asarray(trajectory_ids)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]

    def sample(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
        windows = np.maximum(ends - starts - length + 1, 0)
        if windows.sum() == 0:
            raise ValueError(f"no trajectory has {length} samples")
        traj = rng.choice(len(starts), size=batch, p=windows / windows.sum())
        first = starts[traj] + (rng.random(batch) * windows[traj]).astype(np.int64)
        return first[:, None] + np.arange(length)[None]

    return sample


def _complex_normal(shape: tuple[int, ...], variance: float, generator: torch.Generator,
                    device: str) -> torch.Tensor:
    re = torch.randn(shape, generator=generator).to(device)
    im = torch.randn(shape, generator=generator).to(device)
    return torch.complex(re, im) * math.sqrt(variance / 2)


@dataclass
class PilotOperator:
    """Eq. (1) in torch: Y = W^H H G + N in channel units."""

    W: torch.Tensor  # (N_B, M_B) complex64
    G: torch.Tensor  # (N_U, M_U)
    noise_variance: float

    @classmethod
    def of(cls, design: PilotDesign, noise_variance: float, device: str = "cpu") -> "PilotOperator":
        return cls(torch.as_tensor(design.W, dtype=torch.complex64, device=device),
                   torch.as_tensor(design.G, dtype=torch.complex64, device=device), float(noise_variance))

    def __call__(self, H: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        Y = torch.einsum("bm,...bu,un->...mn", self.W.conj(), H, self.G)
        if generator is None or self.noise_variance <= 0:
            return Y
        return Y + _complex_normal(tuple(Y.shape), self.noise_variance, generator, str(Y.device))


def train_autoencoder(config: ChannelEstimationConfig, H: np.ndarray, positions: np.ndarray,
                      temporal_loss: bool = True, steps: int | None = None, device: str | None = None,
                      checkpoint: Checkpointing | None = None) -> tuple[ChannelAutoencoder, FitResult]:
    """Eq. (11): L_CI + lambda L_TC on batches of K static samples; ``temporal_loss=False`` is the ablation
    (lambda = 0). Returns the autoencoder (CPU, eval mode) and the fit's history. ``checkpoint``: resume / write
    as ``models.nn.fit`` does."""
    device = pick_device(device)
    torch.manual_seed(config.seed)
    model = ChannelAutoencoder(config).to(device)
    Hd = torch.as_tensor(H, dtype=torch.complex64, device=device)
    pos = torch.as_tensor(np.asarray(positions, dtype=np.float32)[:, :2], device=device)
    lam = config.lambda_tc if temporal_loss else 0.0
    batch = min(config.ae_batch_size, len(Hd))

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        idx = torch.as_tensor(rng.choice(len(Hd), size=batch, replace=False), device=device)
        v, _, _ = to_features(Hd[idx], config.representation)  # eq. (5)
        s = model.encode(v)
        n = torch.randn(s.shape, generator=gen).to(device) * config.latent_noise_std  # n of eq. (7)
        l_ci = reconstruction_loss(v, model.decode(s + n))  # eq. (7)
        l_tc = temporal_correlation_loss(s, pos[idx])  # eq. (8)
        return {"total": l_ci + lam * l_tc, "l_ci": l_ci, "l_tc": l_tc}, batch

    steps = config.ae_steps if steps is None else steps
    result = fit(model, step_loss, steps, config.seed, config.ae_learning_rate, device,
                 lr_at=cosine_lr(config.ae_learning_rate), checkpoint=checkpoint)
    return model, result


@torch.no_grad()
def encode(autoencoder: ChannelAutoencoder, H: np.ndarray | torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(s, alpha, beta) = (e(f(H)), alpha, beta) for H (..., N_B, N_U): the tracker's targets."""
    v, alpha, beta = to_features(torch.as_tensor(H, dtype=torch.complex64), autoencoder.representation)
    return autoencoder.encode(v), alpha, beta


@torch.no_grad()
def reconstruct(autoencoder: ChannelAutoencoder, H: np.ndarray) -> np.ndarray:
    """f^-1(d(e(f(H))), alpha, beta): the autoencoder's own floor (no pilots)."""
    s, alpha, beta = encode(autoencoder, H)
    return from_features(autoencoder.decode(s), alpha, beta, autoencoder.num_bs, autoencoder.num_ue,
                         autoencoder.representation).numpy()


def train_tracker(config: ChannelEstimationConfig, autoencoder: ChannelAutoencoder, H: np.ndarray,
                  sampler: SequenceSampler, pilots: PilotOperator, steps: int | None = None,
                  device: str | None = None, checkpoint: Checkpointing | None = None
                  ) -> tuple[LatentTracker, FitResult]:
    """Eq. (12) with the encoder's (s, alpha, beta) of every sequence element as targets; the autoencoder stays
    fixed. Pilots of eq. (1) with fresh noise every step."""
    device = pick_device(device)
    torch.manual_seed(config.seed + 1)
    s_all, a_all, b_all = encode(autoencoder, H)
    tracker = LatentTracker(config)
    tracker.set_latent_statistics(s_all)
    tracker.to(device)
    Hd = torch.as_tensor(H, dtype=torch.complex64, device=device)
    s_std = tracker.standardize(s_all.to(device))
    a_all, b_all = a_all.to(device), b_all.to(device)
    op = PilotOperator(pilots.W.to(device), pilots.G.to(device), pilots.noise_variance)

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        idx = torch.as_tensor(sampler(rng, config.tracker_batch_size, config.seq_len), device=device)
        y = pilot_features(op(Hd[idx], gen))  # (B, T, 2 M_B M_U)
        s_hat, a_hat, b_hat = tracker(y)
        terms = tracking_loss(s_std[idx], s_hat, a_all[idx], a_hat, b_all[idx], b_hat, config.lambda_alpha,
                              config.lambda_beta)
        return terms, int(idx.numel())

    steps = config.tracker_steps if steps is None else steps
    result = fit(tracker, step_loss, steps, config.seed + 1, config.tracker_learning_rate, device,
                 lr_at=cosine_lr(config.tracker_learning_rate), checkpoint=checkpoint)
    return tracker, result


def train_end_to_end(config: ChannelEstimationConfig, H: np.ndarray, sampler: SequenceSampler,
                     pilots: PilotOperator, steps: int | None = None, device: str | None = None,
                     checkpoint: Checkpointing | None = None) -> tuple[EndToEndTracker, FitResult]:
    """The end-to-end LSTM baseline: pilots -> H directly, trained on the NMSE of every sequence element."""
    device = pick_device(device)
    torch.manual_seed(config.seed + 2)
    model = EndToEndTracker(config).to(device)
    Hd = torch.as_tensor(H, dtype=torch.complex64, device=device)
    op = PilotOperator(pilots.W.to(device), pilots.G.to(device), pilots.noise_variance)

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        idx = torch.as_tensor(sampler(rng, config.tracker_batch_size, config.seq_len), device=device)
        H_true = Hd[idx]
        H_hat = model(pilot_features(op(H_true, gen)))
        err = (H_hat - H_true).abs().pow(2).sum(dim=(-2, -1))
        loss = (err / H_true.abs().pow(2).sum(dim=(-2, -1)).clamp_min(1e-12)).mean()
        return {"total": loss}, int(idx.numel())

    steps = config.e2e_steps if steps is None else steps
    result = fit(model, step_loss, steps, config.seed + 2, config.e2e_learning_rate, device,
                 lr_at=cosine_lr(config.e2e_learning_rate), checkpoint=checkpoint)
    return model, result


@torch.no_grad()
def estimate_proposed(autoencoder: ChannelAutoencoder, tracker: LatentTracker, Y: np.ndarray) -> np.ndarray:
    """Eq. (13) along one sequence: Y (T, M_B, M_U) complex (channel units) -> Ĥ (T, N_B, N_U); a batch of
    sequences (B, T, M_B, M_U) -> (B, T, N_B, N_U)."""
    single = np.ndim(Y) == 3
    y = pilot_features(torch.as_tensor(Y, dtype=torch.complex64))
    s_hat, a_hat, b_hat = tracker(y[None] if single else y)
    v_hat = autoencoder.decode(tracker.latent(s_hat))
    H_hat = from_features(v_hat, a_hat, b_hat, autoencoder.num_bs, autoencoder.num_ue,
                          autoencoder.representation).numpy()
    return H_hat[0] if single else H_hat


def proposed_residuals(autoencoder: ChannelAutoencoder, tracker: LatentTracker, H: np.ndarray,
                       sampler: SequenceSampler, design: PilotDesign, noise_variance: float,
                       rng: np.random.Generator, sequences: int = 256, length: int = 20) -> np.ndarray:
    """The tracker's errors H - Ĥ on ``sequences`` training walks of ``length`` (fresh pilot noise): what
    ``classical.PriorLmmse`` takes as its error covariance's sample, (sequences * length, N_B, N_U)."""
    from models.channel_estimation.pilots import received_pilots

    idx = sampler(rng, sequences, length)  # (B, T)
    H_seq = H[idx]
    H_hat = estimate_proposed(autoencoder, tracker, received_pilots(H_seq, design, noise_variance, rng))
    return (H_seq - H_hat).reshape((-1,) + H.shape[1:])


@torch.no_grad()
def estimated_latents(tracker: LatentTracker, Y: np.ndarray) -> np.ndarray:
    """ŝ^(t) (T, S) along one sequence (Fig. 4 plots ||s^(t) - s^(0)||)."""
    s_hat, _, _ = tracker(pilot_features(torch.as_tensor(Y, dtype=torch.complex64))[None])
    return tracker.latent(s_hat)[0].numpy()


@torch.no_grad()
def estimate_end_to_end(model: EndToEndTracker, Y: np.ndarray) -> np.ndarray:
    """Y (T, M_B, M_U) -> Ĥ (T, N_B, N_U)."""
    return model(pilot_features(torch.as_tensor(Y, dtype=torch.complex64))[None])[0].numpy()
