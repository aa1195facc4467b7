"""Cost of one training step of the generative beam-map model (eq. (30)) on this machine, per model size.

Needs no ``make demo``: the inputs are synthetic, shaped like a campaign of the profile of the same name
(N_b = 5 base stations x |W| = 16 beams = 80 entries, M = 3 observed beams per base station per sample, g in
[0, 1], a 1 m/s walk sampled at the profile's measurement rate, coarse positions = walk + Gaussian noise of 20 m
per axis, codebook cells = the profile's region on its 5 m grid, i.e. every cell of the rectangle, an upper bound
of the walkable cells a real site keeps). The values do not matter for the cost; the shapes do.

For the ``smoke`` and ``default`` model sizes (each profile's ``beam_map`` section, ``radiomap_assets.profiles``)
it prints:

- the fp32 matmul ceiling: best GFLOP/s of ``torch.mm`` on 1024x1024 and 2048x2048 (2 n^3 FLOP each), best of a
  few runs, with ``torch.get_num_threads()`` threads;
- FLOP per training step (forward + backward) and per sample, counted by ``torch.utils.flop_counter.
  FlopCounterMode`` on one ``model.training_losses(batch, generator, progress=1)`` + ``backward()``. It counts
  matmul-like ops only (mm, addmm, bmm, convolutions; we add CPU attention and ``cdist``); elementwise work is not
  counted, so achieved GFLOP/s is a lower bound of the work done;
- samples/s over the timed steps after the warm-up steps; a step is what ``models.beam_map.training.train`` does
  (``sample_windows`` + ``training_losses`` + ``backward`` + gradient clipping + Adam), with progress = 1 (the
  joint phase, every term weighted);
- achieved GFLOP/s (counted FLOP/step / median step time) and its share of the matmul ceiling;
- the share of the step taken by each part: feature extractor, temporal encoder, location + codebook + L_c, L_s,
  L_t, L_d, commitment + EMA update, diffusion loss (denoiser), data (``sample_windows``), optimizer (zero_grad,
  clip, Adam). Each part's forward + backward is timed on its own (median of a few runs) on inputs detached from
  the rest of the graph, so the parts do not sum exactly to the step; the table shows the sum too;
- the parameter count.

Run (a couple of minutes at most on 2 cores):

    .venv/bin/python scripts/benchmark_training_step.py [--sizes smoke default] [--steps 10] [--warmup 2]
                                                        [--threads N] [--json PATH]

Timings are wall-clock on a machine that may be shared: the load average at the start is printed with them. On a
machine busy with other jobs, add ``--threads 1``: two torch threads competing with other processes for two cores
wait on each other at every op (measured: a smoke step 31 s with 2 threads, 0.44 s with 1, load average 5.8).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models.beam_map.config import ModelConfig, model_config  # noqa: E402
from models.beam_map.generative_model import GenerativeBeamMapModel  # noqa: E402
from models.beam_map.radio_map import student_t_assignment  # noqa: E402
from models.beam_map import losses  # noqa: E402
from models.beam_map.training import TrajectoryData, WindowBatch, parameter_count, sample_windows  # noqa: E402
from radiomap_assets.profiles import get_profile  # noqa: E402
from radiomap_assets.sites import get_site  # noqa: E402

SIZES = ("smoke", "default")
COARSE_NOISE_M = 20.0  # per axis
WALK_SPEED_M_S = 1.0
PARTS = ("feature_extractor", "temporal_encoder", "location_codebook_losses", "diffusion_loss", "data",
         "optimizer")
PART_LABELS = {"feature_extractor": "feature extractor", "temporal_encoder": "temporal encoder",
               "location_codebook_losses": "location+codebook+L_c,s,t,d", "diffusion_loss": "diffusion loss",
               "data": "data (sample_windows)", "optimizer": "optimizer (clip+Adam)"}


# ---- synthetic campaign ------------------------------------------------------------------------------------------

def _fold(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect an unbounded coordinate into [lo, hi] (a walk bouncing off the region's edges)."""
    w = hi - lo
    return lo + w - np.abs(np.mod(x - lo, 2 * w) - w)


def synthetic_campaign(profile_name: str, num_trajectories: int = 6, trajectory_s: float = 600.0,
                       region_m: tuple[float, float] | None = None, seed: int = 0, beams: int | None = None
                       ) -> tuple[list[TrajectoryData], torch.Tensor, float, dict]:
    """Trajectories shaped like the profile's campaigns and the codebook's cell centres (``beams``: the codebook's
    beams per base station instead of the site's).

    Returns (data, cell_centres_m (K, 2), grid_resolution_m, description)."""
    prof = get_profile(profile_name)
    sc, cp = get_site(prof.scene.site), prof.campaign
    n_bs, beams, m_obs = sc.num_base_stations, beams or sc.num_beams, cp.observed_beams_per_bs
    rate = cp.measurement_rate_hz
    res = sc.grid_resolution_m
    if region_m is not None:
        x0, y0, x1, y1 = -region_m[0] / 2, -region_m[1] / 2, region_m[0] / 2, region_m[1] / 2
    else:
        x0, y0, x1, y1 = prof.scene.region or sc.region_m
    xs = np.arange(x0 + res / 2, x1, res)
    ys = np.arange(y0 + res / 2, y1, res)
    centres = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    n = int(round(trajectory_s * rate))
    data = []
    for i in range(num_trajectories):
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0.0, 0.05, n))  # slowly turning
        step = WALK_SPEED_M_S / rate
        start = rng.uniform([x0, y0], [x1, y1])
        xy = start + np.cumsum(step * np.stack([np.cos(heading), np.sin(heading)], axis=-1), axis=0)
        xy = np.stack([_fold(xy[:, 0], x0, x1), _fold(xy[:, 1], y0, y1)], axis=-1)
        # M of the |W| beams of every base station observed per sample
        picks = rng.random((n, n_bs, beams)).argsort(axis=-1)[..., :m_obs]
        mask = np.zeros((n, n_bs, beams), dtype=bool)
        np.put_along_axis(mask, picks, True, axis=-1)
        mask = mask.reshape(n, n_bs * beams)
        g = np.where(mask, rng.random((n, n_bs * beams)), 0.0).astype(np.float32)
        coarse = xy + rng.normal(0.0, COARSE_NOISE_M, xy.shape)
        data.append(TrajectoryData(f"synthetic_{i}", g, mask, np.arange(n) / rate, coarse))
    info = {"num_entries": n_bs * beams, "beams_per_bs": beams, "observed_beams_per_bs": m_obs,
            "measurement_rate_hz": rate,
            "cells": int(len(centres)), "region_m": [float(x1 - x0), float(y1 - y0)], "grid_resolution_m": res,
            "trajectories": num_trajectories, "samples_per_trajectory": n}
    return data, torch.from_numpy(centres).float(), res, info


# ---- measurements ------------------------------------------------------------------------------------------------

def matmul_ceiling_gflops(sizes: tuple[int, ...] = (1024, 2048), repeats: int = 4) -> dict:
    """Best fp32 torch.mm GFLOP/s per size (2 n^3 FLOP per product), and the best over sizes."""
    out = {}
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        out[f"mm_{n}_gflops"] = 2 * n ** 3 / best / 1e9
    out["ceiling_gflops"] = max(out.values())
    return out


def _flop_counter() -> "torch.utils.flop_counter.FlopCounterMode":
    """FlopCounterMode that also counts the CPU attention kernel and cdist (not in torch's registry)."""
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten

    def euclidean_dist(x1_shape, x2_shape, *args, out_shape=None, **kwargs) -> int:
        # cdist of (N, d) and (M, d) runs as one (N, d+2) x (d+2, M) product
        return 2 * x1_shape[-2] * x2_shape[-2] * (x1_shape[-1] + 2)

    def sdpa(q_shape, k_shape, v_shape, *args, out_shape=None, **kwargs) -> int:
        return fc.sdpa_flop_count(q_shape, k_shape, v_shape)

    def sdpa_backward(grad_shape, q_shape, k_shape, v_shape, *args, out_shape=None, **kwargs) -> int:
        return fc.sdpa_backward_flop_count(grad_shape, q_shape, k_shape, v_shape)

    # custom_mapping entries get torch's shape wrapper: tensors arrive as their shapes
    mapping = {aten._euclidean_dist: euclidean_dist}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = sdpa
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = sdpa_backward
    return fc.FlopCounterMode(display=False, custom_mapping=mapping)


def _batch(data: list[TrajectoryData], c: ModelConfig, step: int) -> tuple[WindowBatch, torch.Generator]:
    """The batch and generator step ``step`` of models.beam_map.training.train draws."""
    rng = np.random.default_rng([c.seed, step])
    gen = torch.Generator().manual_seed(c.seed * 1_000_003 + step)
    return sample_windows(data, c.seq_len, c.batch_size, rng), gen


def _train_step(model: GenerativeBeamMapModel, optimizer: torch.optim.Optimizer, data: list[TrajectoryData],
                step: int, progress: float) -> int:
    """One step of models.beam_map.training.train (same draws, same order of work). Returns the samples used."""
    c = model.config
    batch, gen = _batch(data, c, step)
    terms = model.training_losses(batch, generator=gen, progress=progress)
    optimizer.zero_grad(set_to_none=True)
    terms["total"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return batch.g.shape[0] * batch.g.shape[1]


def count_step_flops(model: GenerativeBeamMapModel, data: list[TrajectoryData], progress: float = 1.0) -> int:
    """FLOP of one training_losses + backward (matmul-like ops, see the module docstring)."""
    batch, gen = _batch(data, model.config, 0)
    model.zero_grad(set_to_none=True)
    with _flop_counter() as counter:
        model.training_losses(batch, generator=gen, progress=progress)["total"].backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def _part_closures(model: GenerativeBeamMapModel, data: list[TrajectoryData], optimizer: torch.optim.Optimizer,
                   progress: float) -> dict:
    """One closure per part of the step; each runs that part's forward + backward on inputs detached from the
    rest of the graph (the upstream gradient is random), mirroring GenerativeBeamMapModel.training_losses."""
    from models.beam_map.generative_model import loss_weights

    c = model.config
    batch, gen = _batch(data, c, 0)
    g, m = batch.g, batch.m
    b, l, _ = g.shape
    with torch.no_grad():
        z3 = model.feature_extractor(g, m.float())
        z_hat = model.temporal_encoder(z3)
        p_hat = model.location_predictor(z_hat)
        zq, k = model.codebook.quantize(z_hat.reshape(b * l, -1), p_hat.reshape(b * l, 2))
    perm = torch.randperm(b * l, generator=gen)
    sub, dsub = perm[: c.loss_subsample], perm[: c.diffusion_subsample]  # as GenerativeBeamMapModel.training_losses
    w = loss_weights(c, progress)
    grad_z3, grad_zhat = torch.randn_like(z3), torch.randn_like(z_hat)

    def feature_extractor():
        model.feature_extractor(g, m.float()).backward(grad_z3)

    def temporal_encoder():
        model.temporal_encoder(z3.detach().requires_grad_(True)).backward(grad_zhat)

    def location_codebook_losses():
        zh = z_hat.detach().requires_grad_(True)
        p = model.location_predictor(zh)
        z_flat, flat_p = zh.reshape(b * l, -1), p.reshape(b * l, 2)
        zq_flat, cell = model.codebook.quantize(z_flat, flat_p)
        r = student_t_assignment(flat_p[sub], model.codebook.cell_centres_m, c.student_t_alpha,
                                 model.grid_resolution_m)
        total = (w["lambda_c"] * losses.coarse_location_loss(flat_p, batch.coarse.reshape(b * l, 2))
                 + w["lambda_s"] * losses.clustering_kl_loss(r)
                 + w["lambda_t"] * losses.triplet_loss(p, batch.t_s, batch.trajectory, c.coherence_time_s,
                                                       c.triplet_margin_m, gen)
                 + w["lambda_d"] * losses.dynamics_loss(p)
                 + c.commitment * losses.commitment_loss(z_flat, zq_flat))
        total.backward()
        model.codebook.ema_update(z_flat, cell)

    def diffusion_loss():
        cond = zq.detach()[dsub].requires_grad_(True)  # the straight-through condition, its gradient reaches ẑ
        x0 = 2.0 * g.reshape(b * l, -1)[dsub] - 1.0
        model.diffusion.loss(model.denoiser, x0, cond, m.reshape(b * l, -1)[dsub], gen).backward()

    step_counter = [1]

    def data_part():
        _batch(data, c, step_counter[0])
        step_counter[0] += 1

    def optimizer_part():
        for p in model.parameters():  # gradients present, as after backward
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    return {"feature_extractor": feature_extractor, "temporal_encoder": temporal_encoder,
            "location_codebook_losses": location_codebook_losses, "diffusion_loss": diffusion_loss,
            "data": data_part, "optimizer": optimizer_part}


def time_parts(model: GenerativeBeamMapModel, data: list[TrajectoryData], optimizer: torch.optim.Optimizer,
               reps: int = 3, progress: float = 1.0) -> dict:
    """Median seconds and counted FLOP of each part (one warm-up run each)."""
    closures = _part_closures(model, data, optimizer, progress)
    out = {}
    for name, fn in closures.items():
        model.zero_grad(set_to_none=True)
        with _flop_counter() as counter:  # doubles as the warm-up run
            fn()
        times = []
        for _ in range(reps):
            if name != "optimizer":
                model.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = {"seconds": statistics.median(times), "flops": int(counter.get_total_flops())}
    model.zero_grad(set_to_none=True)
    return out


def _model_for(name: str, centres: torch.Tensor, res: float, info: dict
               ) -> tuple[GenerativeBeamMapModel, torch.optim.Optimizer]:
    """The profile's model for a synthetic campaign (its beams per base station), in training mode, with Adam."""
    section = get_profile(name).beam_map
    config = model_config(info["num_entries"], {**section.model_overrides(), "beams_per_bs": info["beams_per_bs"]},
                          section.loss_weights)
    torch.manual_seed(config.seed)
    model = GenerativeBeamMapModel(config, centres, res)
    model.train()
    return model, torch.optim.Adam(model.parameters(), lr=config.learning_rate)


def _timed_steps(model, optimizer, data, warmup_steps: int, timed_steps: int, progress: float
                 ) -> tuple[list[float], int]:
    """Training steps after ``warmup_steps`` untimed ones: (seconds per timed step, samples they drew)."""
    for step in range(warmup_steps):
        _train_step(model, optimizer, data, step, progress)
    step_times, samples = [], 0
    for step in range(warmup_steps, warmup_steps + timed_steps):
        t0 = time.perf_counter()
        samples += _train_step(model, optimizer, data, step, progress)
        step_times.append(time.perf_counter() - t0)
    return step_times, samples


def benchmark_size(name: str, timed_steps: int = 10, warmup_steps: int = 2, part_reps: int = 3,
                   ceiling_gflops: float | None = None, trajectory_s: float = 600.0,
                   region_m: tuple[float, float] | None = None, progress: float = 1.0, seed: int = 0) -> dict:
    """Every figure of one model size (see the module docstring). ``ceiling_gflops``: the matmul ceiling to
    compare with (measured here when None)."""
    data, centres, res, info = synthetic_campaign(name, trajectory_s=trajectory_s, region_m=region_m, seed=seed)
    model, optimizer = _model_for(name, centres, res, info)
    config = model.config
    samples_per_step = config.batch_size * config.seq_len

    flops = count_step_flops(model, data, progress)

    step_times, samples = _timed_steps(model, optimizer, data, warmup_steps, timed_steps, progress)
    step_s = statistics.median(step_times)
    samples_per_s = samples / sum(step_times)

    parts = time_parts(model, data, optimizer, part_reps, progress)
    if ceiling_gflops is None:
        ceiling_gflops = matmul_ceiling_gflops()["ceiling_gflops"]
    achieved = flops / step_s / 1e9
    parts_sum = sum(p["seconds"] for p in parts.values())
    return {
        "size": name, "synthetic_campaign": info,
        "batch_size": config.batch_size, "seq_len": config.seq_len, "samples_per_step": samples_per_step,
        "parameters": parameter_count(model),
        "flops_per_step": flops, "flops_per_sample": flops / samples_per_step,
        "timed_steps": timed_steps, "warmup_steps": warmup_steps,
        "step_seconds_median": step_s, "samples_per_s": samples_per_s,
        "achieved_gflops": achieved, "ceiling_gflops": ceiling_gflops,
        "share_of_ceiling": achieved / ceiling_gflops,
        "parts": {k: {**v, "share_of_step": v["seconds"] / step_s} for k, v in parts.items()},
        "parts_sum_over_step": parts_sum / step_s,
    }


def run_benchmark(sizes: tuple[str, ...] = SIZES, timed_steps: int = 10, warmup_steps: int = 2,
                  part_reps: int = 3, matmul_sizes: tuple[int, ...] = (1024, 2048), matmul_repeats: int = 4,
                  trajectory_s: float = 600.0, region_m: tuple[float, float] | None = None,
                  progress: float = 1.0, threads: int | None = None) -> dict:
    """The machine's figures and those of every size; what --json writes. ``threads``: torch threads for the
    run (restored afterwards); default: as set, torch.get_num_threads()."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run(sizes, timed_steps, warmup_steps, part_reps, matmul_sizes, matmul_repeats, trajectory_s,
                    region_m, progress)
    finally:
        torch.set_num_threads(previous)


def _run(sizes, timed_steps, warmup_steps, part_reps, matmul_sizes, matmul_repeats, trajectory_s, region_m,
         progress) -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    ceiling = matmul_ceiling_gflops(matmul_sizes, matmul_repeats)
    machine = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
               "processor": platform.processor() or platform.machine(), "load_average_1m_at_start": load[0],
               **ceiling}
    results = {name: benchmark_size(name, timed_steps, warmup_steps, part_reps, ceiling["ceiling_gflops"],
                                    trajectory_s, region_m, progress)
               for name in sizes}
    return {"machine": machine, "progress": progress, "sizes": results}


def beam_sweep(name: str, beams: list[int], timed_steps: int = 5, warmup_steps: int = 1) -> list[dict]:
    """Per-sample training cost against the codebook's beams per base station (issue 14: a large codebook, say 5
    base stations x 256 beams, must cost at most linearly more per sample): the profile's model and walk with |W|
    beams per base station, M observed per sample as the profile's; steps as ``benchmark_size`` times them."""
    out = []
    for w in beams:
        data, centres, res, info = synthetic_campaign(name, trajectory_s=120.0, beams=w)
        model, optimizer = _model_for(name, centres, res, info)
        times, samples = _timed_steps(model, optimizer, data, warmup_steps, timed_steps, 1.0)
        out.append({"beams_per_bs": w, "num_entries": info["num_entries"], "parameters": parameter_count(model),
                    "us_per_sample": 1e6 * sum(times) / samples})
    return out


def format_beam_sweep(rows: list[dict]) -> str:
    base = rows[0]
    lines = [f"{'beams per BS':>12} {'entries':>8} {'parameters':>11} {'us/sample':>10} {'cost ratio':>11} "
             f"{'beam ratio':>11}"]
    for r in rows:
        lines.append(f"{r['beams_per_bs']:>12} {r['num_entries']:>8} {r['parameters']:>11,} "
                     f"{r['us_per_sample']:>10.0f} {r['us_per_sample'] / base['us_per_sample']:>10.2f}x "
                     f"{r['beams_per_bs'] / base['beams_per_bs']:>10.1f}x")
    return "\n".join(lines)


# ---- output ------------------------------------------------------------------------------------------------------

def format_table(res: dict) -> str:
    mach, sizes = res["machine"], res["sizes"]
    names = list(sizes)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        rows.append((label, [fn(sizes[n]) for n in names]))

    row("parameters", lambda s: f"{s['parameters']:,}")
    row("batch x window = samples/step", lambda s: f"{s['batch_size']} x {s['seq_len']} = {s['samples_per_step']}")
    row("codebook cells K", lambda s: f"{s['synthetic_campaign']['cells']:,}")
    row("matmul ceiling GFLOP/s", lambda s: f"{s['ceiling_gflops']:.1f}")
    row("GFLOP / step (fwd+bwd)", lambda s: f"{s['flops_per_step'] / 1e9:.2f}")
    row("MFLOP / sample", lambda s: f"{s['flops_per_sample'] / 1e6:.2f}")
    row("step time (median)", lambda s: f"{s['step_seconds_median'] * 1e3:.0f} ms")
    row("samples/s", lambda s: f"{s['samples_per_s']:.0f}")
    row("achieved GFLOP/s", lambda s: f"{s['achieved_gflops']:.1f}")
    row("share of matmul ceiling", lambda s: f"{100 * s['share_of_ceiling']:.1f} %")
    rows.append(("time share of step (FLOP share)", [""] * len(names)))
    for part in PARTS:
        row(f"  {PART_LABELS[part]}",
            lambda s, p=part: f"{100 * s['parts'][p]['share_of_step']:.0f} % "
                              f"({100 * s['parts'][p]['flops'] / max(s['flops_per_step'], 1):.0f} %)")
    row("  sum of parts / step", lambda s: f"{100 * s['parts_sum_over_step']:.0f} %")

    w0 = max(len(r[0]) for r in rows) + 2
    w = max(14, *(len(v) + 2 for _, vals in rows for v in vals), *(len(n) + 2 for n in names))
    lines = [f"{'':<{w0}}" + "".join(f"{n:>{w}}" for n in names)]
    lines += [f"{label:<{w0}}" + "".join(f"{v:>{w}}" for v in vals) for label, vals in rows]
    ts = next(iter(sizes.values()))
    lines += [
        "",
        f"torch {mach['torch']}, torch threads: {mach['threads']}, CPUs: {mach['cpu_count']}, load average "
        f"{mach['load_average_1m_at_start']:.2f} at start. Ceiling: best torch.mm fp32 "
        + ", ".join(f"{k[3:-7]}: {v:.1f}" for k, v in mach.items() if k.startswith("mm_")) + " GFLOP/s.",
        f"FLOP: FlopCounterMode on one training_losses + backward (matmul, conv, attention, cdist only; elementwise "
        f"not counted). Samples/s over {ts['timed_steps']} steps after {ts['warmup_steps']} warm-up steps "
        f"(sample_windows + losses + backward + clip + Adam, progress {res['progress']:g}); achieved GFLOP/s = "
        f"FLOP/step / median step time.",
        "Parts: each part's forward + backward timed alone (median of a few runs) on detached inputs with a random "
        "upstream gradient, as a share of the median step; the parts need not sum to 100 %. FLOP share in brackets.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=["smoke", "default", "paper"])
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per size")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
    ap.add_argument("--part-reps", type=int, default=3, help="timed runs of each part (median)")
    ap.add_argument("--region-m", type=float, nargs=2, metavar=("W", "H"), default=None,
                    help="codebook region for every size (default: each profile's own region)")
    ap.add_argument("--progress", type=float, default=1.0, help="share of training done (loss-weight schedule)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch.get_num_threads(), i.e. every core)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    ap.add_argument("--beams", type=int, nargs="+", default=None,
                    help="instead: per-sample cost against these beams per base station (first size only), e.g. "
                         "--beams 16 64 256")
    args = ap.parse_args(argv)
    if args.beams:
        if args.threads:
            torch.set_num_threads(args.threads)
        print(f"{args.sizes[0]} model, {torch.get_num_threads()} torch thread(s)")
        print(format_beam_sweep(beam_sweep(args.sizes[0], args.beams, args.steps, args.warmup)))
        return 0
    res = run_benchmark(tuple(args.sizes), args.steps, args.warmup, args.part_reps,
                        region_m=tuple(args.region_m) if args.region_m else None, progress=args.progress,
                        threads=args.threads)
    print(format_table(res))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2))
        print(f"\nwritten {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
