"""The one fit loop every network of the project trains with (issue 11): seeded steps, gradient clipping,
checkpoint/resume, device choice and a history row per step.

A network brings its own loss as ``step_loss(step, rng, generator) -> (terms, samples)``: ``terms`` a dict of scalar
tensors with the optimized one under ``loss_name`` (default ``"total"``), ``samples`` how many samples the step saw (for
samples/s). Every random draw of step s comes from ``rng`` = numpy ``default_rng([seed, s])`` and ``generator`` = torch
seeded with ``seed · seed_stride + s``, so a run resumed from a checkpoint continues exactly as an uninterrupted one
would.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

StepLoss = Callable[[int, np.random.Generator, torch.Generator], tuple[dict[str, torch.Tensor], int]]


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else CUDA when present, else the CPU."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class Checkpointing:
    path: Path
    every: int  # steps between checkpoints (and always at the last step)
    fingerprint: str  # a checkpoint is resumed only when it was written for the same fingerprint


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one row per step: step, loss terms, seconds
    steps_done: int = 0
    resumed_from: int = 0
    wall_time_s: float = 0.0
    samples_per_s: float = 0.0
    device: str = "cpu"


def save_checkpoint(path: Path, module: nn.Module, optimizer, step: int, history: list[dict],
                    fingerprint: str) -> None:
    """Atomically (write a temporary file of this writer's own, then rename): CPU state dict, optimizer state, step,
    history, fingerprint. Two trainings writing one checkpoint path never share a temporary file; a killed write
    leaves its temporary file behind, never a truncated checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cpu_state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"model": cpu_state, "optimizer": optimizer.state_dict(), "step": step, "history": history,
                        "fingerprint": fingerprint}, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> dict | None:
    """A checkpoint written by ``save_checkpoint``, loaded with ``weights_only`` (tensors, numbers, strings: no code
    runs). One that cannot be read (truncated, corrupt, not ours) is moved aside to ``<name>.unreadable-<time>``
    (kept, not deleted) with a warning, and None is returned: the training starts fresh instead of failing forever."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file: keep it aside, train from scratch
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(path, aside)
        warnings.warn(f"checkpoint {path} could not be read ({type(e).__name__}: {str(e)[:200]}); moved to "
                      f"{aside.name}, training starts from scratch", stacklevel=2)
        return None


def fit(module: nn.Module, step_loss: StepLoss, steps: int, seed: int, learning_rate: float,
        device: str, parameters: Iterable[nn.Parameter] | None = None, train_module: nn.Module | None = None,
        lr_at: Callable[[float], float] | None = None, clip_norm: float = 5.0, seed_stride: int = 1_000_003,
        checkpoint: Checkpointing | None = None, on_fresh_start: Callable[[], None] | None = None,
        on_step: Callable[[int, dict], None] | None = None, stop_after: int | None = None,
        loss_name: str = "total") -> FitResult:
    """Adam on ``step_loss`` for ``steps`` steps. ``module`` must already sit on ``device``; it is returned on the CPU
    in eval mode. ``parameters``: what Adam updates (default all of ``module``); ``train_module``: the part put in
    train mode (default ``module``). ``lr_at(progress)``: the step size at progress = step / steps (default constant).
    ``loss_name``: the term of ``step_loss`` that is optimized. ``checkpoint``: resume from it when its fingerprint
    matches, write it every ``every`` steps; ``on_fresh_start`` runs when nothing was resumed (e.g. input statistics).
    ``stop_after``: end this call after that many steps (tests simulate a kill with it)."""
    optimizer = torch.optim.Adam(list(module.parameters() if parameters is None else parameters), lr=learning_rate)
    result = FitResult(device=device)
    start = 0
    ckpt = load_checkpoint(checkpoint.path) if checkpoint is not None and Path(checkpoint.path).exists() else None
    if ckpt is not None:
        if ckpt.get("fingerprint") == checkpoint.fingerprint:
            module.load_state_dict(ckpt["model"])  # copies into the parameters, already on ``device``
            optimizer.load_state_dict(ckpt["optimizer"])
            start = int(ckpt["step"])
            result.history = list(ckpt["history"])
            result.resumed_from = start
    if start == 0 and on_fresh_start is not None:
        on_fresh_start()
    (train_module or module).train()
    t0 = time.perf_counter()
    samples = 0
    for step in range(start, steps):
        if stop_after is not None and step - start >= stop_after:
            break
        rng = np.random.default_rng([seed, step])
        generator = torch.Generator().manual_seed(seed * seed_stride + step)
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step / steps)
        terms, batch_samples = step_loss(step, rng, generator)
        optimizer.zero_grad(set_to_none=True)
        terms[loss_name].backward()
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], clip_norm)
        optimizer.step()
        samples += batch_samples
        row = {"step": step + 1, **{k: float(v.detach()) for k, v in terms.items()},
               "seconds": time.perf_counter() - t0}
        result.history.append(row)
        if on_step is not None:
            on_step(step + 1, row)
        if checkpoint is not None and ((step + 1) % checkpoint.every == 0 or step + 1 == steps):
            save_checkpoint(Path(checkpoint.path), module, optimizer, step + 1, result.history,
                            checkpoint.fingerprint)
    result.steps_done = len(result.history)
    result.wall_time_s = time.perf_counter() - t0
    result.samples_per_s = samples / max(result.wall_time_s, 1e-9)
    module.to("cpu")
    module.eval()
    return result
