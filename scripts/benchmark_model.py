"""Benchmark of the generative beam-map model, side by side in one run (run after ``make demo``):

- training throughput (samples/s) of eq. (30) steps on the trained campaign's data,
- inference throughput of trajectory recovery (trajectory steps/s),
- beam-map generation on the visited cells: wall time and NMSE / RMSE against the ray-traced ground truth with the
  DDIM sampler (few steps) and with the full DDPM chain of eq. (22), plus DDIM's NMSE against DDPM itself.

    .venv/bin/python scripts/benchmark_model.py [--cells 256] [--samples 4] [--train-steps 20]

Reads the model registered by the last ``train_model`` run under ``$RADIOMAP_HOME`` (MLflow) and the ground-truth
beam map; prints a table and writes ``reports/benchmark_model.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=256, help="visited cells decoded by both samplers")
    ap.add_argument("--samples", type=int, default=4, help="diffusion samples per cell")
    ap.add_argument("--train-steps", type=int, default=20, help="training steps timed (on a copy of the model)")
    args = ap.parse_args()

    from radiomap_assets import env_setup

    env_setup.configure()
    import copy

    import xarray as xr

    from models.beam_map.training import decode_beam_map, recover_trajectory, train
    from radiomap_assets import storage
    from radiomap_assets.assets.model_registry import load_registered_model
    from radiomap_assets.assets.shared import load_training_data
    from radiomap_assets.domain.grid import Grid
    from radiomap_assets.experiments import true_beam_map_at
    from radiomap_assets.domain.metrics import beam_map_errors
    from radiomap_assets.profiles import get_profile, home_layout

    home = home_layout()
    try:
        ref = storage.load_site_asset("beam_map_model", get_profile().site)
    except FileNotFoundError:
        print(f"no trained model under {home.root}: run `make demo` first", file=sys.stderr)
        return 1
    model = load_registered_model(ref)
    print(f"model {ref.model_uri} ({ref.parameter_count:,} parameters), profile {get_profile().name}, "
          f"{torch.get_num_threads()} threads")
    results: dict[str, float] = {}

    # training throughput on a copy (the registered model is not changed)
    data = load_training_data(ref.campaigns)
    trainee = copy.deepcopy(model)
    res = train(trainee, data, max_steps=args.train_steps)
    results["train_samples_per_s"] = res.samples_per_s

    # inference throughput: recover every trained trajectory
    t0 = time.perf_counter()
    steps = 0
    for d in data:
        recover_trajectory(model, d.g, d.m)
        steps += len(d)
    results["inference_steps_per_s"] = steps / (time.perf_counter() - t0)

    # beam maps on visited cells: DDIM vs DDPM, both against the ray-traced truth
    site = storage.load_site_asset("site_grid", get_profile().site)
    visited = model.codebook.visited().numpy()
    rng = np.random.default_rng(0)
    idx = np.nonzero(visited)[0]
    cells = np.sort(rng.choice(idx, size=min(args.cells, len(idx)), replace=False))
    gt_store = home.beam_maps / f"ground_truth_{site.site}" / "latest.zarr"
    gt = xr.open_zarr(gt_store)
    gt_grid = Grid.from_coords(gt.x.values, gt.y.values)
    truth_g, covered = true_beam_map_at(gt.power_dbm.values, gt.covered.values, gt_grid, site.cell_centres_m[cells])
    out = {}
    for sampler in ("ddim", "ddpm"):
        t0 = time.perf_counter()
        mean_g, _, _ = decode_beam_map(model, args.samples, sampler, cells=cells, seed=1)
        secs = time.perf_counter() - t0
        err = beam_map_errors(mean_g, truth_g, mask=covered)  # coverage holes are not the truth
        out[sampler] = mean_g
        steps_used = model.config.ddim_steps if sampler == "ddim" else model.config.diffusion_steps
        results[f"{sampler}_steps"] = steps_used
        results[f"{sampler}_seconds"] = secs
        results[f"{sampler}_cells_per_s"] = len(cells) / secs
        results[f"{sampler}_nmse_vs_truth"] = err["nmse"]
        results[f"{sampler}_rmse_vs_truth"] = err["rmse"]
    results["ddim_nmse_vs_ddpm"] = beam_map_errors(out["ddim"], out["ddpm"])["nmse"]
    results["ddpm_over_ddim_time"] = results["ddpm_seconds"] / results["ddim_seconds"]

    print(f"\n{'metric':<32s}{'value':>14s}")
    for k, v in results.items():
        print(f"{k:<32s}{v:>14.4g}")
    home.reports.mkdir(parents=True, exist_ok=True)
    (home.reports / "benchmark_model.json").write_text(json.dumps(
        {"model": ref.model_uri, "cells": len(cells), "samples_per_cell": args.samples, **results}, indent=2))
    print(f"\nwritten {home.reports / 'benchmark_model.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
