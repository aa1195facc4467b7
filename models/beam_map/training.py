"""Training (eq. (30) with Adam, EMA codebook) and inference (trajectory recovery, beam-map decoding).

Training sees only what the method may see: per trajectory the masked sparse CSI (g̊, m), the time stamps and the
coarse locations p̄. Windows of ``seq_len`` samples are drawn from trajectories with probability proportional to
their length. Every random draw of step s is seeded by (seed, s), so a run resumed from a checkpoint continues
exactly as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from models.beam_map.config import ModelConfig
from models.beam_map.generative_model import GenerativeBeamMapModel
from models.nn.fit import Checkpointing, FitResult, fit, pick_device


@dataclass
class TrajectoryData:
    """One trajectory's model inputs: g (L, N) float32, m (L, N) bool, t_s (L,), coarse p̄ (L, 2) metres."""

    trajectory_id: str
    g: np.ndarray
    m: np.ndarray
    t_s: np.ndarray
    coarse_xy: np.ndarray

    def __len__(self) -> int:
        return len(self.t_s)


def split_trajectories(trajectory_id: np.ndarray, g: np.ndarray, m: np.ndarray, t_s: np.ndarray,
                       coarse_xy: np.ndarray, prefix: str = "") -> list[TrajectoryData]:
    """Rows ordered by trajectory then time (as in MaskedSparseCSI) -> one TrajectoryData per trajectory."""
    out = []
    ids = np.asarray(trajectory_id)
    for tid in dict.fromkeys(ids.tolist()):
        sel = np.nonzero(ids == tid)[0]
        out.append(TrajectoryData(f"{prefix}{tid}", g[sel].astype(np.float32), m[sel].astype(bool),
                                  t_s[sel].astype(np.float64), coarse_xy[sel].astype(np.float64)))
    return out


@dataclass
class WindowBatch:
    """``batch_size`` windows of ``seq_len`` consecutive samples: g (B, L, N) float32, m (B, L, N) bool,
    t_s (B, L) float32 seconds since the start of the window's trajectory, trajectory (B, L) int64 index into the
    data list (the triplet loss draws its negatives across windows of the whole batch), coarse (B, L, 2) float32,
    sample (B, L) int64 index of each sample inside its trajectory (for per-sample inputs a caller holds aside)."""

    g: torch.Tensor
    m: torch.Tensor
    t_s: torch.Tensor
    trajectory: torch.Tensor
    coarse: torch.Tensor
    sample: torch.Tensor

    def to(self, device: str) -> "WindowBatch":
        return WindowBatch(*(x.to(device) for x in (self.g, self.m, self.t_s, self.trajectory, self.coarse,
                                                     self.sample)))


def trajectories_shorter_than(data: list[TrajectoryData], seq_len: int) -> dict[str, int]:
    """Trajectories a training on windows of ``seq_len`` samples cannot draw from: {trajectory id: samples}. Their
    samples are still recovered (``recover_trajectory`` takes any length); callers report them (issue 14)."""
    return {d.trajectory_id: len(d) for d in data if len(d) < seq_len}


def sample_windows(data: list[TrajectoryData], seq_len: int, batch_size: int, rng: np.random.Generator
                   ) -> WindowBatch:
    """Random windows, trajectories drawn with probability proportional to their number of windows. Every
    network that trains on windows (the generative model, its LSTM variant, the channel charts) draws here."""
    usable = [i for i, d in enumerate(data) if len(d) >= seq_len]
    if not usable:
        longest = max((len(d) for d in data), default=0)
        raise ValueError(f"no trajectory has at least seq_len={seq_len} samples (longest: {longest})")
    weights = np.array([len(data[i]) - seq_len + 1 for i in usable], dtype=np.float64)
    picks = rng.choice(len(usable), size=batch_size, p=weights / weights.sum())
    g, m, t, k, p, idx = [], [], [], [], [], []
    for pick in picks:
        i = usable[pick]
        d = data[i]
        s = int(rng.integers(0, len(d) - seq_len + 1))
        g.append(d.g[s:s + seq_len])
        m.append(d.m[s:s + seq_len])
        t.append(d.t_s[s:s + seq_len] - d.t_s[0])
        p.append(d.coarse_xy[s:s + seq_len])
        k.append(np.full(seq_len, i))
        idx.append(np.arange(s, s + seq_len))
    return WindowBatch(torch.from_numpy(np.stack(g).astype(np.float32)), torch.from_numpy(np.stack(m).astype(bool)),
                       torch.from_numpy(np.stack(t)).float(), torch.from_numpy(np.stack(k)).long(),
                       torch.from_numpy(np.stack(p)).float(), torch.from_numpy(np.stack(idx)).long())


COARSE_TARGETS = ("raw", "cv_smoothed")


def coarse_targets(data: list[TrajectoryData], kind: str) -> list[TrajectoryData]:
    """The trajectories with the coarse locations L_c is trained against (``ModelConfig.coarse_targets``)."""
    if kind not in COARSE_TARGETS:
        raise ValueError(f"coarse_targets must be one of {COARSE_TARGETS}, got {kind!r}")
    if kind == "raw":
        return data
    from models.baselines.floors import cv_smoother

    return [dataclasses.replace(d, coarse_xy=cv_smoother(d.t_s, d.coarse_xy)) if len(d) >= 3 else d for d in data]


def config_fingerprint(config: ModelConfig, data: list[TrajectoryData]) -> str:
    h = hashlib.sha1(json.dumps(config.to_dict(), sort_keys=True).encode())
    for d in data:
        h.update(d.trajectory_id.encode())
        h.update(str(len(d)).encode())
        h.update(np.ascontiguousarray(d.coarse_xy[:: max(1, len(d) // 16)]).tobytes())
    return h.hexdigest()[:16]


def learning_rate_at(config: ModelConfig, progress: float) -> float:
    """Adam's step size at ``progress`` (share of training done): constant, or (default) a half cosine from
    ``learning_rate`` down to ``min_lr_fraction`` of it. A function of the step alone, so a resumed run continues on
    the same schedule. Without the decay the recovered trajectory moved by several metres between the last
    checkpoints of a run (6.3 m at step 500, 10.8 m at 600 on the default uniform campaign, issue 10)."""
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule != "cosine":
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {config.lr_schedule!r}")
    low = config.min_lr_fraction
    return config.learning_rate * (low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0))))


def train(model: GenerativeBeamMapModel, data: list[TrajectoryData], checkpoint_path: Path | None = None,
          on_step: Callable[[int, dict], None] | None = None, max_steps: int | None = None,
          stop_after: int | None = None, device: str | None = None) -> FitResult:
    """Adam on eq. (30) for ``config.max_steps`` steps in the shared fit loop (``models.nn.fit``), checkpointing every
    ``checkpoint_every`` steps and resuming from ``checkpoint_path`` when it holds a checkpoint of the same
    configuration and data.

    ``stop_after`` ends the call after that many steps of this call (used by tests to simulate a kill).
    ``device``: where to train (default: CUDA when present, else CPU); the model is returned on the CPU."""
    c = model.config
    device = pick_device(device)
    model.to(device)
    max_steps = max_steps or c.max_steps
    torch.manual_seed(c.seed)
    fingerprint = config_fingerprint(c, data)
    data = coarse_targets(data, c.coarse_targets)

    def fresh_start() -> None:  # input statistics of the training data (label-free), stored with the weights
        observed = np.concatenate([d.g[d.m] for d in data]) if data else np.zeros(0, np.float32)
        if observed.size:
            model.feature_extractor.set_input_statistics(torch.from_numpy(observed))

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        batch = sample_windows(data, c.seq_len, c.batch_size, rng).to(device)
        terms = model.training_losses(batch, generator=gen, progress=step / max_steps)
        return terms, batch.g.shape[0] * batch.g.shape[1]

    checkpoint = (None if checkpoint_path is None
                  else Checkpointing(Path(checkpoint_path), c.checkpoint_every, fingerprint))
    return fit(model, step_loss, max_steps, c.seed, c.learning_rate, device,
               lr_at=lambda progress: learning_rate_at(c, progress), checkpoint=checkpoint,
               on_fresh_start=fresh_start, on_step=on_step, stop_after=stop_after)


@torch.no_grad()
def recover_trajectory(model: GenerativeBeamMapModel, g: np.ndarray, m: np.ndarray, window: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """p̂ (L, 2) in metres and the most likely grid cell k (L,) (eq. (17)) for one whole trajectory.

    Overlapping windows (stride window/2) are blended with triangular weights, so every sample is estimated with
    context on both sides except at the ends of the trajectory."""
    model.eval()
    window = window or model.config.seq_len
    n = len(g)
    if n == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    w = min(window, n)
    stride = max(1, w // 2)
    starts = list(range(0, max(n - w, 0) + 1, stride))
    if starts[-1] != n - w:
        starts.append(n - w)
    acc = np.zeros((n, 2))
    weight = np.zeros(n)
    tri = 1.0 + np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float64)
    gt = torch.from_numpy(g.astype(np.float32))
    mt = torch.from_numpy(m.astype(bool))
    for i in range(0, len(starts), 32):
        batch = starts[i:i + 32]
        out = model.encode(torch.stack([gt[s:s + w] for s in batch]), torch.stack([mt[s:s + w] for s in batch]))
        for j, s in enumerate(batch):
            acc[s:s + w] += out.p_hat[j].numpy() * tri[:, None]
            weight[s:s + w] += tri
    p_hat = acc / weight[:, None]
    cells = model.codebook.nearest(torch.from_numpy(p_hat).float()).numpy()
    return p_hat, cells


@torch.no_grad()
def codebook_conditions(model: GenerativeBeamMapModel) -> tuple[torch.Tensor, np.ndarray]:
    """The radio-map vector of every cell; cells never selected in training take the vector of the nearest
    visited cell (flagged False in the returned mask). (K, D), (K,) bool."""
    cb = model.codebook
    visited = cb.visited().numpy()
    emb = cb.embedding.clone()
    if visited.any() and not visited.all():
        from models.beam_map.radio_map import nearest_cell

        vis_idx = np.nonzero(visited)[0]
        nearest = nearest_cell(cb.cell_centres_m[~torch.from_numpy(visited)], cb.cell_centres_m[vis_idx])
        emb[~torch.from_numpy(visited)] = cb.embedding[torch.from_numpy(vis_idx)[nearest]]
    return emb, visited


@torch.no_grad()
def decode_beam_map(model: GenerativeBeamMapModel, samples_per_cell: int = 4, sampler: str = "ddim",
                    steps: int | None = None, batch_size: int = 2048, seed: int = 0,
                    cells: np.ndarray | None = None, on_progress: Callable[[int, int], None] | None = None):
    """Decode every cell's radio-map vector into the full CSI with several diffusion samples.

    Returns (mean_g (K, N), std_power_db (K, N), visited (K,)) where mean_g is in the normalized scale."""
    from radiomap_assets.domain.measurement import denormalize_power

    model.eval()
    cond_all, visited = codebook_conditions(model)
    idx = np.arange(cond_all.shape[0]) if cells is None else np.asarray(cells)
    gen = torch.Generator().manual_seed(seed)
    reps = torch.from_numpy(np.repeat(idx, samples_per_cell))
    out = np.zeros((len(reps), model.config.num_entries), dtype=np.float32)
    for i in range(0, len(reps), batch_size):
        cond = cond_all[reps[i:i + batch_size]]
        out[i:i + batch_size] = model.generate_csi(cond, sampler=sampler, steps=steps, generator=gen).numpy()
        if on_progress is not None:
            on_progress(min(i + batch_size, len(reps)), len(reps))
    samples = out.reshape(len(idx), samples_per_cell, -1)
    power = denormalize_power(samples)
    return samples.mean(axis=1), power.std(axis=1), visited[idx]


def corridor_cells(xy: list[np.ndarray], cell_centres_m: np.ndarray, radius_m: float) -> np.ndarray:
    """Indices of the cells within ``radius_m`` of any of the positions ``xy`` (list of (L, 2)): where a beam map
    is decoded along a trajectory."""
    pts = np.concatenate(xy)
    pts = pts[:: max(1, len(pts) // 4000)]
    keep = np.zeros(len(cell_centres_m), bool)
    for i in range(0, len(pts), 256):
        d = np.linalg.norm(cell_centres_m[None] - pts[i:i + 256, None], axis=-1)
        keep |= (d <= radius_m).any(axis=0)
    return np.nonzero(keep)[0]


def beam_map_along(model: GenerativeBeamMapModel, xy: list[np.ndarray], cells: list[np.ndarray],
                   corridor_width_cells: int, samples_per_cell: int = 16, seed: int = 1
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The decoded beam map (Table IV, Fig. 12) on the cells of a recovered trajectory and those within
    ``corridor_width_cells`` grid cells of it: xy, cells per trajectory -> (map_cells (C,), mean g (C, N) float32),
    the mean of ``samples_per_cell`` diffusion samples per cell (the mean of 16 beats one sample's NMSE: see README)."""
    centres = model.codebook.cell_centres_m.numpy()
    corridor_m = corridor_width_cells * model.grid_resolution_m
    map_cells = np.union1d(corridor_cells(list(xy), centres, corridor_m), np.concatenate(cells))
    mean_g, _, _ = decode_beam_map(model, samples_per_cell=samples_per_cell, cells=map_cells, seed=seed)
    return map_cells, mean_g.astype(np.float32)


def parameter_count(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))



def refine_decoder(model: GenerativeBeamMapModel, data: list[TrajectoryData], steps: int, batch_size: int = 512,
                   learning_rate: float | None = None, on_step: Callable[[int, dict], None] | None = None,
                   cells: list[np.ndarray] | None = None, checkpoint_path: Path | None = None,
                   stop_after: int | None = None) -> list[dict]:
    """Decoder refinement after the joint training of eq. (30) (our addition for CPU budgets; the paper trains
    everything jointly). The encoder and the codebook are frozen; the denoiser is trained on what it is asked at
    inference: the codebook vector e_k of a cell -> the full CSI there.

    Targets are label-free: every sample is assigned to the cell of its own recovered position (eq. (17)), or to
    ``cells`` (per trajectory of ``data``, one grid cell per sample: another label-free position estimate, e.g.
    the tracking prior's, ``models.beam_map.tracking``); an
    entry the sample observed keeps its measurement, an unobserved one takes the mean of that entry over the
    samples assigned to the same cell that did observe it (entries nobody observed there stay out of the loss).
    The joint training only ever sees the M observed beams per base station and the unobserved entries as fixed
    -1 inputs, which it never has to denoise; this teaches the decoder the full vector it generates.

    ``checkpoint_path``: written every ``checkpoint_every`` steps and resumed when it was written for the same
    configuration, data, cells and refinement settings (a kill during the refinement loses at most that many steps).
    ``stop_after`` ends the call early (tests simulate a kill with it). ``learning_rate``: None = the model's
    ``ModelConfig.decoder_refine_lr``."""
    c = model.config
    learning_rate = c.decoder_refine_lr if learning_rate is None else learning_rate
    if cells is None:
        cells = [recover_trajectory(model, d.g, d.m)[1] for d in data]
    elif [len(c) for c in cells] != [len(d) for d in data]:
        raise ValueError("refine_decoder: cells must give one cell per sample of every trajectory of data")
    cells, g_all, m_all = list(cells), [], []
    for d in data:
        g_all.append(d.g)
        m_all.append(d.m)
    from radiomap_assets.domain.measurement import radio_map_from_positions

    cell_mean, counts = radio_map_from_positions(cells, g_all, m_all, model.codebook.num_cells)  # (K, N), NaN unseen
    cells, g_all, m_all = np.concatenate(cells), np.concatenate(g_all), np.concatenate(m_all)
    target = np.where(m_all, g_all, np.nan_to_num(cell_mean[cells])).astype(np.float32)  # (S, N)
    known = torch.from_numpy(m_all | (counts[cells] > 0))
    x0_all = torch.from_numpy(2.0 * target - 1.0)
    cond_all, _ = codebook_conditions(model)
    cond_all = cond_all[torch.from_numpy(cells)]
    device = pick_device()
    model.to(device)

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        idx = torch.randint(0, len(x0_all), (batch_size,), generator=gen)
        loss = model.diffusion.loss(model.denoiser, x0_all[idx].to(device), cond_all[idx].to(device),
                                    known[idx].to(device), gen)
        return {"L_r_refine": loss}, batch_size  # its name in histories and MLflow

    checkpoint = None
    if checkpoint_path is not None:
        h = hashlib.sha1(f"{config_fingerprint(c, data)}|{steps}|{batch_size}|{learning_rate}".encode())
        h.update(np.ascontiguousarray(cells, dtype=np.int64).tobytes())
        checkpoint = Checkpointing(Path(checkpoint_path), c.checkpoint_every, h.hexdigest()[:16])
    result = fit(model, step_loss, steps, c.seed, learning_rate, device, parameters=model.denoiser.parameters(),
                 train_module=model.denoiser, seed_stride=7_919, on_step=on_step, loss_name="L_r_refine",
                 checkpoint=checkpoint, stop_after=stop_after)
    return result.history
