"""Scoring of the evaluation report: localization (Tables I, II, Figs. 6, 7), beam maps (Table IV), beam-tracking
capacity (Fig. 12), the headline ratios and one entry per method. Plain numpy in, a JSON-ready ``results`` dict out;
no Dagster, no files.

``runs``: per method, per experiment, what the method produced (``xy`` per test trajectory; map methods also
``map_cells``, ``map_g`` and ``cells``; ``seconds``). ``tests`` and ``truths``: per experiment, the test
trajectories (what the methods saw) and their ground truth (``experiments.CampaignTruth``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.measurement import sample_beam_map
from radiomap_assets.experiments import (BEAM_MAP_EXPERIMENTS, EXPERIMENTS, FLOORS, FULL_EVALUATION_COMMAND, METHODS,
                                         PAPER, PARTICIPANTS, MethodRun, beam_from_map, beam_map_scores,
                                         capacity_experiment, evaluation_cells, headline_ratios, localization_scores,
                                         los_to_nlos_window, map_at_cells, serving_base_station, true_beam_map_at,
                                         VARIANTS)

M_OF = BEAM_MAP_EXPERIMENTS  # experiment -> observed beams per base station M
MAP_METHODS = ("skf", "proposed", "proposed_tracked")  # methods with a beam map (Table IV, Fig. 12)


def method_runs(baselines: dict[str, dict], coarse_floors: dict, skf_baseline: dict) -> dict[str, dict]:
    """Every method's run, the floors and the SKF's forward filter as runs of their own: {method: {experiment:
    MethodRun}}."""
    runs = dict(baselines)
    runs.update({f: {e: r[f] for e, r in coarse_floors.items() if f in r}
                 for f in FLOORS if f not in ("skf", "skf_causal")})
    runs["skf_causal"] = {e: r.causal for e, r in skf_baseline.items() if r.causal is not None}
    return runs


def methods_not_run(experiments: dict, runs: dict) -> dict[str, tuple[str, ...]]:
    """Per experiment run, the methods of its table this evaluation did not run."""
    out = {e: tuple(m for m in PARTICIPANTS.get(e, ()) if e not in runs.get(m, {})) for e in experiments}
    return {e: ms for e, ms in out.items() if ms}


def score_localization(runs: dict, tests: dict, truths: dict, covered: dict) -> dict:
    """Per experiment: the coarse input, the floors, then the experiment's methods (Tables I, II, Fig. 6).
    ``covered[exp]``: Table II's covered-sample flags (or None)."""
    out = {}
    for exp, test in tests.items():
        truth, cov = truths[exp], covered.get(exp)
        scores = {"coarse input": localization_scores(truth, [d.coarse_xy for d in test], cov)}
        for m in FLOORS + tuple(m for m in PARTICIPANTS.get(exp, ()) if m not in FLOORS):  # floors first
            if exp in runs[m]:
                scores[m] = localization_scores(truth, runs[m][exp].xy, cov)
        out[exp] = scores
    return out


def error_versus_beams(localization: dict) -> dict[str, dict[int, float]]:
    """Fig. 7: mean error per M for the coarse input, the floors, Semi-CC-GT and the proposed model."""
    return {m: {M_OF[e]: localization[e][m]["mean_error_m"] for e in M_OF
                if e in localization and m in localization[e]}
            for m in ("coarse input", *FLOORS, "semi_cc_gt", "proposed")}


def error_versus_sample_share(localization: dict) -> dict[str, dict[int, float]]:
    """Fig. 10: mean error per share of the indoor trajectory samples (percent) for the coarse input, the floors
    and Table III's methods."""
    shares = {e: round(100 * EXPERIMENTS[e].sample_share) for e in localization
              if e in EXPERIMENTS and EXPERIMENTS[e].sample_share < 1.0}
    return {m: {shares[e]: localization[e][m]["mean_error_m"] for e in shares if m in localization[e]}
            for m in ("coarse input", *FLOORS, "semi_cc_noisy", "real_world_cc", "proposed", *VARIANTS)}


def score_beam_maps(runs: dict, truths: dict, centres: np.ndarray, gt_power_dbm: np.ndarray,
                    gt_covered: np.ndarray, gt_grid: Grid) -> dict:
    """Table IV: NMSE / RMSE of the SKF's and the proposed model's maps at the cells of the uniform trajectory."""
    out = {}
    for exp, m_obs in M_OF.items():
        if exp not in truths:
            continue
        cells = evaluation_cells(truths[exp].xy, centres)
        true_g, covered = true_beam_map_at(gt_power_dbm, gt_covered, gt_grid, centres[cells])
        out[exp] = {"observed_beams_M": m_obs, "cells": int(len(cells))}
        for m in MAP_METHODS:
            if exp in runs.get(m, {}) and runs[m][exp].map_g is not None:
                pred = map_at_cells(runs[m][exp].map_cells, runs[m][exp].map_g, cells, centres)
                out[exp][m] = beam_map_scores(pred, true_g, covered)
    return out


@dataclass
class CapacityScore:
    capacity: dict  # capacity_experiment's output, per method
    los_serving: np.ndarray  # (L,) bool: LOS to the serving base station
    t_s: np.ndarray  # (L,) time stamps of the uniform trajectory
    window: tuple[int, int]  # the LOS -> NLOS window Fig. 12 zooms on


def score_capacity(runs: dict, cam_run: MethodRun, truth, test: list, centres: np.ndarray,
                   gt_power_dbm: np.ndarray,
                   gt_grid: Grid) -> CapacityScore:
    """Fig. 12: beam-tracking capacity along the uniform trajectory (serving base station = strongest; the beam
    from the proposed model's map, the SKF's map and CAM's sounding)."""
    xy, los = np.concatenate(truth.xy), np.concatenate(truth.los)
    true_dbm = sample_beam_map(gt_power_dbm, gt_grid, xy)  # (L, N_b, |W|)
    serving = serving_base_station(true_dbm)
    los_serving = los[np.arange(len(los)), serving]
    choices = {}
    for m in MAP_METHODS:
        r = runs.get(m, {}).get("table1")
        if r is None or r.map_g is None:
            continue
        choices[m] = beam_from_map(map_at_cells(r.map_cells, r.map_g, np.concatenate(r.cells), centres),
                                   serving, true_dbm.shape[-1])
    cam_beam = np.concatenate(cam_run.cam_beam)[np.arange(len(serving)), serving]
    cap = capacity_experiment(true_dbm, los_serving, serving, choices, cam_beam, cam_run.num_sounded)
    window = los_to_nlos_window(los_serving, half_width=min(300, len(los_serving) // 2))
    return CapacityScore(cap, los_serving, np.concatenate([d.t_s for d in test]), window)


def summarize(results: dict, runs: dict, cam_runs: dict[str, MethodRun]) -> None:
    """Adds the headline ratios, the methods' wall times, the model URIs and one entry per method (design 3.3)."""
    results["ratios"] = headline_ratios(results)
    timings = {m: {e: round(r.seconds, 1) for e, r in runs[m].items()} for m in runs}
    timings["cam"] = {e: round(r.seconds, 1) for e, r in cam_runs.items()}
    results["method_seconds"] = timings
    results["models"] = {m: {e: r.model_uri for e, r in runs[m].items()} for m in ("proposed", "lstm")}
    results["methods"] = {m: {e: {**results["localization"].get(e, {}).get(m, {}),
                                  **({"beam_map": results["beam_map"][e][m]}
                                     if m in results["beam_map"].get(e, {}) else {})}
                              for e in results["localization"] if m in results["localization"][e]}
                          for m in dict.fromkeys(FLOORS + METHODS) if m != "cam"}
    if "cam" in results["capacity"]:
        results["methods"]["cam"] = {"table1": {"capacity": results["capacity"]["cam"]}}


def new_results(profile_name: str, experiments: dict, not_run: dict, not_run_methods: dict,
                site: str = "san_francisco") -> dict:
    return {"profile": profile_name, "site": site, "campaigns": experiments, "localization": {}, "beam_map": {},
            "capacity": {}, "paper": PAPER, "not_run": {"experiments": not_run, "methods": {e: list(m) for e, m in
                                                                             not_run_methods.items()},
                                        "command": FULL_EVALUATION_COMMAND}}


def provenance(runs: dict, dagster_run_id: str, git_commit: str | None, profile: dict, written_at: str) -> dict:
    """Where the report's numbers came from: per method and experiment the MLflow model version and run that made
    them (trained methods only), the training wall time and coarse input; the Dagster run, the code's commit, the
    profile's sizes and the time written."""
    methods = {f"{method}/{exp}": {k: v for k, v in {"model_uri": run.model_uri, "mlflow_run_id": run.mlflow_run_id,
                                                      "train_wall_time_s": run.train_wall_time_s,
                                                      "coarse_input": run.coarse_asset}.items() if v is not None}
               for method, by_exp in runs.items() if isinstance(by_exp, dict)
               for exp, run in by_exp.items() if getattr(run, "model_uri", None)}
    return {"dagster_run_id": dagster_run_id, "git_commit": git_commit, "written_at": written_at,
            "profile": profile, "models": methods}


def flat_metrics(results: dict) -> dict[str, float]:
    """The numbers of ``results`` as flat metric names (MLflow): localization, Table IV, ratios."""
    flat = {f"{e}.{m}.{k}": v for e, sc in results["localization"].items() for m, s in sc.items()
            for k, v in s.items() if isinstance(v, float)}
    flat.update({f"table4.{e}.{m}.{k}": v for e, d in results["beam_map"].items() for m, s in d.items()
                 if isinstance(s, dict) for k, v in s.items() if isinstance(v, float)})
    flat.update({f"ratio.{k}": v for k, v in results["ratios"].items() if v is not None})
    return flat
