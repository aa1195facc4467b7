"""Study (issue 10, Fig. 12), not part of the pipeline: where the beam-tracking capacity of a map-based method is
lost, in a finished ``make demo`` home (San Francisco, Table I's walk; ground truth read to score only).

For the SKF, the faithful model and its tracking prior it scores the beam chosen (1) from the method's map at its
own location estimate (what Fig. 12 reports), (2) from its map at the true cell (the map's share of the loss) and
(3) from the ground-truth map at its location estimate (the location's share), as a share of perfect-CSI capacity at
the highest SNR, LOS and NLOS. ``--refine-lr``: also refine a copy of the faithful decoder on the tracking prior's
cells with these Adam step sizes (``training.refine_decoder``, what the variant does) and score its map (Table IV
NMSE beside). Measured 2026-12-07 (session 12, the home of 4b7d4c2's demo): the map, not the location, loses the
capacity (tracked: 0.873 LOS at its location, 0.898 at the true cell, 0.998 with the true map at its location); the
refinement's own label-free targets (cell means) choose at 0.998 / 0.995; step 5e-4 -> 2e-3 gave 0.922 / 0.962 and
NMSE 0.0395 -> 0.0305 at 200 steps.

    .venv/bin/python scripts/study_beam_choice.py --home /tmp/demo/.radiomap [--refine-lr 5e-4 2e-3]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default=".radiomap")
    ap.add_argument("--refine-lr", nargs="*", type=float, default=[])
    args = ap.parse_args()
    home = Path(args.home).resolve()
    os.environ["RADIOMAP_HOME"] = str(home)
    os.environ.setdefault("RADIOMAP_PROFILE", "default")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import torch

    from models.beam_map.radio_map import nearest_cell
    from models.beam_map.training import beam_map_along, refine_decoder
    from radiomap_assets import storage
    from radiomap_assets.assets.experiment_inputs import experiment_data, truth_of
    from radiomap_assets.assets.model_registry import load_model_version
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.domain.grid import Grid
    from radiomap_assets.domain.measurement import sample_beam_map
    from radiomap_assets.experiments import (MAP_CORRIDOR_CELLS, beam_from_map, beam_map_scores, capacity_experiment,
                                             evaluation_cells, map_at_cells, serving_base_station, true_beam_map_at)
    from resources import BeamMapStore, MlflowTracker, SionnaScene
    from resources.profile import RunProfile

    site = "san_francisco"

    def stored(asset: str):
        return storage.load_site_asset(asset, site)

    campaigns, variants = stored("experiment_campaigns"), stored("proposed_variants")
    runs = {"skf": stored("skf_baseline")["table1"], "proposed": stored("proposed_method")["table1"],
            "proposed_tracked": variants["proposed_tracked"]["table1"]}
    _, test = experiment_data(campaigns, "table1")
    truth = truth_of(campaigns["experiments"]["table1"], test)
    gt = BeamMapStore().open_latest(ground_truth_map_name(site)).load()
    gt_grid = Grid.from_coords(gt.x.values, gt.y.values)
    centres = SionnaScene(run_profile=RunProfile(name="default")).at(site).site_grid().cell_centres_m
    xy, los = np.concatenate(truth.xy), np.concatenate(truth.los)
    true_dbm = sample_beam_map(gt.power_dbm.values, gt_grid, xy)  # (L, N_b, |W|)
    serving = serving_base_station(true_dbm)
    los_serving = los[np.arange(len(los)), serving]
    beams = true_dbm.shape[-1]
    true_cells = nearest_cell(torch.from_numpy(xy).float(), torch.from_numpy(centres).float()).numpy()
    snr = np.array([-10.0, 10.0])

    def shares(choices: dict) -> None:
        cap = capacity_experiment(true_dbm, los_serving, serving, choices, None, 0, snr)
        perfect = cap["perfect_csi"]
        for name in choices:
            print(f"  {name:34s} LOS {cap[name]['los'][-1] / perfect['los'][-1]:.3f}  "
                  f"NLOS {cap[name]['nlos'][-1] / perfect['nlos'][-1]:.3f}", flush=True)

    print(f"share of perfect-CSI capacity at {snr[-1]:+.0f} dB; LOS share of the walk {los_serving.mean():.3f}")
    choices = {}
    for name, run in runs.items():
        cells = np.concatenate(run.cells)
        choices[f"{name}: its map, its location"] = beam_from_map(
            map_at_cells(run.map_cells, run.map_g, cells, centres), serving, beams)
        choices[f"{name}: its map, true cell"] = beam_from_map(
            map_at_cells(run.map_cells, run.map_g, true_cells, centres), serving, beams)
        at_estimate = sample_beam_map(gt.power_dbm.values, gt_grid, np.concatenate(run.xy))
        choices[f"{name}: true map, its location"] = at_estimate[np.arange(len(xy)), serving].argmax(axis=-1)
    shares(choices)

    if args.refine_lr:
        tracked = runs["proposed_tracked"]
        cells = [np.asarray(c) for c in tracked.cells]
        base = load_model_version(MlflowTracker().tracking_uri, runs["proposed"].model_uri)
        eval_cells = evaluation_cells(truth.xy, centres)
        true_g, covered = true_beam_map_at(gt.power_dbm.values, gt.covered.values, gt_grid, centres[eval_cells])
        for lr in args.refine_lr:
            model = copy.deepcopy(base)
            t0 = time.perf_counter()
            refine_decoder(model, test, model.config.decoder_refine_steps, model.config.decoder_refine_batch,
                           learning_rate=lr, cells=cells)
            map_cells, map_g = beam_map_along(model, tracked.xy, cells, MAP_CORRIDOR_CELLS)
            nmse = beam_map_scores(map_at_cells(map_cells, map_g, eval_cells, centres), true_g, covered)["nmse"]
            steps = model.config.decoder_refine_steps
            print(f"refined at lr {lr:g} ({steps} steps, {time.perf_counter() - t0:.0f} s): Table IV NMSE {nmse:.4f}")
            shares({f"tracked map, lr {lr:g}": beam_from_map(
                map_at_cells(map_cells, map_g, np.concatenate(cells), centres), serving, beams)})


if __name__ == "__main__":
    main()
