"""The experiments of paper section IV on plain arrays: what each method sees, and every number of the report.

Methods see only a campaign's model inputs (``models.beam_map.training.TrajectoryData``: masked sparse CSI, time stamps,
coarse locations) and the site's cell centres; the one exception is the ``semi_cc_gt`` baseline, whose definition
is 500 ground-truth labels. Ground truth (``CampaignTruth``) enters only the scoring functions here.

Experiments (keys of ``evaluation.json``), each of one site. Each names its campaign kind and its coarse input
(``EXPERIMENTS``): the paper's tables use the paper's protocol, ``paper_protocol_coarse_locations`` (ground truth +
N(0, 400 m^2) outdoors, 25 m^2 indoors, an evaluation asset); ``table1_production`` uses what a landed campaign
gets, the label-free ``coarse_locations`` (the geometric locator by default), and ``table1_centroid`` the paper's
own label-free input, the weighted centroid (``centroid_coarse_locations``). San Francisco (section IV-A, B):
- ``table1``: uniform trajectory, M = 3 observed beams per base station (Table I, and M = 3 of Fig. 7 / Table IV);
- ``table1_production``: the same campaign with the production coarse input (the number a real user sees);
- ``table1_centroid``: the same campaign with the weighted centroid as input: its floors and the SKF only (no model
  trains on it: the production input is the better one), the bar the production pipeline must clear by a wide margin;
- ``fig6``: the complex trajectory (stop, accelerate to 10 m/s, hold, decelerate);
- ``m1``, ``m5``: the uniform trajectory observed with M = 1 and M = 5 beams (Fig. 7, Table IV);
- ``table2``: models trained on the random discontinuous trajectories minus a held-out set, scored on it;
- ``fig12``: beam tracking capacity along the uniform trajectory (perfect CSI, proposed, SKF, CAM).

The indoor hall (section IV-C):
- ``table3``: the robot trajectories through the L (Table III; every method learns from the unlabeled campaign and
  recovers it, as Table I);
- ``fig10_20`` ... ``fig10_60``: the same with only a share of the trajectory samples (20 % to 60 %, whole
  trajectories, Fig. 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from radiomap_assets.domain.beam_layout import BeamLayout
from radiomap_assets.domain.metrics import (beam_map_errors, beam_tracking_capacity, dbm_to_mw,
                                            localization_summary, trustworthiness_continuity)

PAPER_PROTOCOL_COARSE = "paper_protocol_coarse_locations"  # evaluation group: ground truth + N(0, 400 m^2)
PRODUCTION_COARSE = "coarse_locations"  # ingestion group: label-free, the geometric locator by default
CENTROID_COARSE = "centroid_coarse_locations"  # evaluation group: label-free weighted centroid (section II-B)


class Experiment(NamedTuple):
    kind: str  # simulated campaign kind it runs on (radiomap_assets.domain.simulation.campaign_kind)
    coarse_asset: str  # the asset whose coarse locations every method of the experiment gets as input
    site: str = "san_francisco"  # the site whose campaign it runs on (radiomap_assets.sites)
    sample_share: float = 1.0  # share of the campaign's samples used (whole trajectories, in order; Fig. 10)


FIG10_SHARES = (0.2, 0.3, 0.4, 0.5, 0.6)  # Fig. 10: share of the indoor trajectory samples
EXPERIMENTS = {
    "table1": Experiment("uniform", PAPER_PROTOCOL_COARSE),
    "table1_production": Experiment("uniform", PRODUCTION_COARSE),
    "table1_centroid": Experiment("uniform", CENTROID_COARSE),
    "fig6": Experiment("complex", PAPER_PROTOCOL_COARSE),
    "m1": Experiment("uniform_m1", PAPER_PROTOCOL_COARSE),
    "m5": Experiment("uniform_m5", PAPER_PROTOCOL_COARSE),
    "table2": Experiment("random", PAPER_PROTOCOL_COARSE),
    "table3": Experiment("random", PAPER_PROTOCOL_COARSE, "indoor_hall"),
    **{f"fig10_{round(100 * r)}": Experiment("random", PAPER_PROTOCOL_COARSE, "indoor_hall", r) for r in FIG10_SHARES},
}
EXPERIMENT_KIND = {e: x.kind for e, x in EXPERIMENTS.items()}


def experiments_of_site(site: str) -> list[str]:
    return [e for e, x in EXPERIMENTS.items() if x.site == site]
COARSE_ASSET = {e: x.coarse_asset for e, x in EXPERIMENTS.items()}
# the declared variants of the proposed model (ours, not in the paper; radiomap_assets.assets.variants)
VARIANTS = ("proposed_smoothed", "proposed_tracked", "proposed_smoothed_tracked")
METHODS = ("skf", "semi_cc_gt", "semi_cc_noisy", "real_world_cc", "cam", "lstm", "proposed", "geometric_locator")
# which method runs in which experiment (the paper's tables and figures)
PARTICIPANTS = {
    "table1": ("skf", "semi_cc_gt", "semi_cc_noisy", "real_world_cc", "proposed", "proposed_smoothed",
               "proposed_tracked", "proposed_smoothed_tracked"),
    "table1_production": ("skf", "proposed", "proposed_smoothed", "proposed_tracked", "proposed_smoothed_tracked"),
    # geometric_locator (ours, label-free, no learned model: the site's map and the arrays' physics,
    # radiomap_assets.domain.geometric_locator) from the centroid as its weak prior: what production's
    # coarse_locations computes, so this row is table1_production's input, scored beside the centroid's floors
    "table1_centroid": ("skf", "geometric_locator"),
    "fig6": ("skf", "semi_cc_gt", "proposed", "proposed_tracked"),
    "m1": ("skf", "semi_cc_gt", "proposed", "proposed_tracked"),
    "m5": ("skf", "semi_cc_gt", "proposed", "proposed_tracked"),
    "table2": ("semi_cc_gt", "lstm", "proposed", "proposed_tracked"),
    "table3": ("skf", "semi_cc_noisy", "real_world_cc", "proposed", "proposed_smoothed", "proposed_tracked",
               "proposed_smoothed_tracked"),
    **{f"fig10_{round(100 * r)}": ("skf", "semi_cc_noisy", "real_world_cc", "proposed", "proposed_smoothed",
                                   "proposed_tracked", "proposed_smoothed_tracked") for r in FIG10_SHARES},
}
# experiments whose map methods also give a beam map along their trajectory (Table IV, Fig. 12) -> the observed
# beams per base station M (table1's M is the profile's); maps are decoded on the method's cells and the cells within
# MAP_CORRIDOR_CELLS grid cells of its trajectory
BEAM_MAP_EXPERIMENTS = {"m1": 1, "table1": 3, "m5": 5}
MAP_CORRIDOR_CELLS = 3
# The headline evaluation (`make demo`, job evaluate_headline): Table I on the paper's protocol and on the production
# input, with the floors (coarse_floors, the SKF twice), CAM, the proposed model and its declared variant
# proposed_tracked (no training of its own; proposed_smoothed trains a model per experiment: full evaluation, except
# Table III, where it is the row that beats the SKF: 0.54 m against 0.77 m, faithful 0.80 m, 2026-11-28). The other
# experiments (Fig. 6, M = 1 / 5 of Fig. 7 and Table IV, Table II) train one proposed model each and the channel
# charts (Semi-CC-GT / Noisy, Real-world CC) and the LSTM train models of their own: they are the full evaluation's
# (job evaluate, FULL_EVALUATION_COMMAND), and the report says so where they would stand.
HEADLINE_EXPERIMENTS = ("table1", "table1_production", "table1_centroid", "table3")
# of PARTICIPANTS (floors, CAM: always); "<experiment>/<method>" for one experiment only: Table III's channel charts
HEADLINE_METHODS = ("skf", "geometric_locator", "proposed", "proposed_tracked", "table3/semi_cc_noisy",
                    "table3/real_world_cc",
                    "table3/proposed_smoothed", "table3/proposed_smoothed_tracked")
FULL_EVALUATION_COMMAND = "make paper"  # = python -m radiomap_assets.demo --paper: job evaluate, every table and figure
SNR_DB = np.array([-15.0, -11.0, -7.0, -3.0, 0.0, 3.0, 6.0, 10.0])  # Fig. 12 (b), (c); the paper quotes -11 and 6

# The paper's numbers (section IV), for the report's side-by-side columns.
PAPER = {
    "table1": {"skf": (0.986, 0.987, 7.24, 14.78), "semi_cc_gt": (0.990, 0.994, 6.81, 19.57),
               "semi_cc_noisy": (0.978, 0.982, 14.61, 29.79), "real_world_cc": (0.963, 0.965, 82.75, 217.41),
               "proposed": (0.995, 0.995, 4.90, 9.92)},  # TW, CT, mean m, 95th m
    "table2": {"semi_cc_gt": (0.992, 0.992, 7.64, 19.61), "lstm": (0.991, 0.989, 10.27, 28.77),
               "proposed": (0.995, 0.995, 4.81, 8.59)},
    "table3": {"skf": (0.847, 0.886, 1.56, 3.19), "semi_cc_noisy": (0.975, 0.983, 0.76, 1.63),
               "real_world_cc": (0.969, 0.988, 0.99, 2.28), "proposed": (0.991, 0.992, 0.49, 1.08)},
    "table4": {"skf": {1: (0.013, 0.068), 3: (0.012, 0.067), 5: (0.012, 0.067)},
               "proposed": {1: (0.0062, 0.050), 3: (0.0056, 0.047), 5: (0.0049, 0.044)}},  # NMSE, RMSE
    "ratios": {"table1_proposed_over_skf_mean_error": 0.68, "table1_proposed_over_semi_cc_gt_mean_error": 0.72,
               "table2_proposed_over_lstm_mean_error": 0.47, "table4_m1_proposed_over_skf_nmse": 0.48,
               "fig12_los_capacity_share_of_perfect": 0.98, "fig12_nlos_capacity_gain_over_skf_high_snr": 0.20,
               "table3_proposed_over_skf_mean_error": 0.31, "table3_proposed_over_semi_cc_noisy_mean_error": 0.65,
               "table3_proposed_over_real_world_cc_mean_error": 0.50},
}


@dataclass
class MethodRun:
    """One method's output on one experiment: the contract between the method assets and the report. Every method
    asset returns ``{experiment: MethodRun}``. Positions per test trajectory; a method that builds a beam map adds it
    on a set of cells (normalized scale); a trained one names its MLflow model version."""

    xy: list[np.ndarray]  # per test trajectory (L, 2) metres
    seconds: float = 0.0  # wall time of the method on this experiment
    cells: list[np.ndarray] | None = None  # per trajectory (L,) the most likely grid cell (eq. (17))
    map_cells: np.ndarray | None = None  # (C,) cells its beam map is given on
    map_g: np.ndarray | None = None  # (C, N) the beam map there, normalized gains
    model_uri: str | None = None  # models:/<name>/<version>
    mlflow_run_id: str | None = None
    train_wall_time_s: float | None = None
    coarse_asset: str | None = None  # the asset its coarse input came from
    reused_model_group_version: bool = False  # the model group's version served this experiment
    causal: "MethodRun | None" = None  # the SKF's forward filter alone (skf_causal)
    cam_beam: list[np.ndarray] | None = None  # CAM: per trajectory (L, N_b) the beam its angle map points to
    num_sounded: int | None = None  # CAM: beams sounded around it
    history: list = field(default_factory=list)  # per-iteration diagnostics (SKF EM, chart losses)
    diagnostics: dict = field(default_factory=dict)  # method-specific: chosen noise levels, final losses, ...


@dataclass
class CampaignTruth:
    """Evaluation only: per trajectory the true positions (L, 2) and LOS flags per base station (L, N_b)."""

    xy: list[np.ndarray]
    los: list[np.ndarray]


# ------------------------------------------------------------------------------------------------ localization

# Floors of every localization table (rows after "coarse input", before the methods): what needs no learned model.
# The first three use the coarse input alone (models.baselines.floors, asset coarse_floors); the SKF twice builds its
# own radio map from the unlabeled CSI (skf_baseline). None of them uses a label.
FLOORS = ("coarse_ma_1s", "coarse_ma_10s", "cv_smoother", "skf_causal", "skf")
FLOOR_NOTE = ("Floors (coarse MA 1 s / 10 s, CV smoother, SKF causal / smoother) need no labels; the moving averages "
              "and the CV smoother (noise levels chosen by innovation likelihood) need no radio map either, the SKF "
              "builds its own from the unlabeled CSI. A method must beat them.")
COVERAGE_RADIUS_M = 5.0  # Table II: a held-out sample is covered when its true position is this close to training


def localization_scores(truth: CampaignTruth, estimate_xy: list[np.ndarray], covered: np.ndarray | None = None) -> dict:
    """Mean / 95th-percentile error over all samples, TW and CT (eqs. (32)-(33), on all samples pooled, k = 5%),
    and the error split by LOS to at least one base station. ``covered`` (L_total,) bool, pooled like the samples
    (``covered_samples``): the error split by covered / uncovered samples too (``covered_mean_error_m``,
    ``uncovered_mean_error_m``, None where a side is empty, and ``covered_share``)."""
    if len(truth.xy) != len(estimate_xy):
        raise ValueError(f"{len(estimate_xy)} estimated trajectories for {len(truth.xy)} true ones")
    t, e = np.concatenate(truth.xy), np.concatenate(estimate_xy)
    out = localization_summary(e, t)
    out.update({k: v for k, v in trustworthiness_continuity(t, e).items() if k in ("trustworthiness", "continuity")})
    los = np.concatenate(truth.los).any(axis=1)
    err = np.linalg.norm(e - t, axis=1)
    for name, sel in (("los", los), ("nlos", ~los)):
        if sel.any():
            out[f"{name}_mean_error_m"] = float(err[sel].mean())
    if covered is not None:
        covered = np.asarray(covered, dtype=bool)
        if covered.shape != err.shape:
            raise ValueError(f"covered must be ({len(err)},) like the pooled samples, got {covered.shape}")
        out["covered_mean_error_m"] = float(err[covered].mean()) if covered.any() else None
        out["uncovered_mean_error_m"] = float(err[~covered].mean()) if (~covered).any() else None
        out["covered_share"] = float(covered.mean())
    return out


def covered_samples(test_truth_xy: list[np.ndarray], train_truth_xy: list[np.ndarray],
                    radius_m: float = COVERAGE_RADIUS_M) -> np.ndarray:
    """Scoring only (reads ground truth): per pooled test sample, whether its TRUE position lies within ``radius_m``
    of some TRUE training-trajectory position, i.e. whether the training data ever visited that place. (L_test,)."""
    from scipy.spatial import cKDTree

    test = np.concatenate(test_truth_xy)
    if not train_truth_xy or sum(len(x) for x in train_truth_xy) == 0:
        return np.zeros(len(test), dtype=bool)
    d, _ = cKDTree(np.concatenate(train_truth_xy)).query(test, k=1, distance_upper_bound=radius_m)
    return np.isfinite(d) & (d <= radius_m)


def stop_location(truth_xy: np.ndarray, t_s: np.ndarray, min_duration_s: float = 10.0) -> np.ndarray | None:
    """Where the user stands still for at least ``min_duration_s`` (the blue star of Fig. 6), or None."""
    step = np.linalg.norm(np.diff(truth_xy, axis=0), axis=1)
    still = np.concatenate([[False], step < 1e-6])
    best, run_start, best_len = None, None, 0.0
    for i, s in enumerate(still):
        if s and run_start is None:
            run_start = i
        if (not s or i == len(still) - 1) and run_start is not None:
            dur = t_s[i] - t_s[run_start]
            if dur > best_len:
                best_len, best = dur, truth_xy[run_start]
            run_start = None
    return best if best_len >= min_duration_s else None


# ------------------------------------------------------------------------------------------------ beam maps

def evaluation_cells(truth_xy: list[np.ndarray], cell_centres_m: np.ndarray) -> np.ndarray:
    """Cells the true trajectory passes through (Table IV compares beam maps along it). Sorted cell indices."""
    from models.beam_map.radio_map import nearest_cell
    import torch

    xy = torch.from_numpy(np.concatenate(truth_xy)).float()
    return np.unique(nearest_cell(xy, torch.from_numpy(cell_centres_m).float()).numpy())


def true_beam_map_at(gt_power_dbm: np.ndarray, gt_covered: np.ndarray, gt_grid, positions_xy: np.ndarray):
    """Ray-traced truth (N_b, |W|, y, x) at positions: (normalized g (P, N), covered (P, N)), entries in BeamLayout
    order."""
    from radiomap_assets.domain.measurement import normalize_power

    layout = BeamLayout(*gt_power_dbm.shape[:2])
    iy, ix = gt_grid.cell_index(positions_xy)
    p = layout.flat(np.moveaxis(gt_power_dbm[:, :, iy, ix], -1, 0), axis=1)
    c = layout.flat(np.moveaxis(gt_covered[:, :, iy, ix], -1, 0), axis=1)
    return normalize_power(p), c


def beam_map_scores(predicted_g: np.ndarray, true_g: np.ndarray, covered: np.ndarray) -> dict:
    """NMSE and RMSE of normalized beam maps on entries some ray reached (coverage holes are not the truth)."""
    return beam_map_errors(predicted_g, true_g, mask=covered)


# ------------------------------------------------------------------------------------------------ capacity

def serving_base_station(true_power_dbm: np.ndarray) -> np.ndarray:
    """Per sample the base station with the strongest best beam: (L, N_b, |W|) -> (L,). Every method is compared
    on the same serving base station; only the beam choice differs."""
    return true_power_dbm.max(axis=-1).argmax(axis=-1)


def map_at_cells(map_cells: np.ndarray, map_g: np.ndarray, cells: np.ndarray, cell_centres_m: np.ndarray) -> np.ndarray:
    """A method's beam map (given on ``map_cells``) read at ``cells``; a cell it has no value for takes the nearest
    cell it has. (C_map,), (C_map, N), (C,) -> (C, N)."""
    pos = {int(c): i for i, c in enumerate(map_cells)}
    rows = np.array([pos.get(int(c), -1) for c in cells])
    missing = rows < 0
    if missing.any():
        d = np.linalg.norm(cell_centres_m[cells[missing], None] - cell_centres_m[map_cells][None], axis=-1)
        rows[missing] = d.argmin(axis=1)
    return map_g[rows]


def beam_from_map(map_rows_g: np.ndarray, serving_bs: np.ndarray, beams_per_bs: int) -> np.ndarray:
    """The strongest beam of the serving base station in a method's beam map at its estimated location.
    map_rows_g (L, N) = the map at each sample's estimated cell -> (L,)."""
    blocks = BeamLayout.from_entries(map_rows_g.shape[1], beams_per_bs).per_bs(map_rows_g)  # (L, N_b, |W|)
    return np.nan_to_num(blocks[np.arange(len(blocks)), serving_bs], nan=-np.inf).argmax(axis=-1)


def capacity_experiment(true_power_dbm: np.ndarray, los_serving: np.ndarray, serving_bs: np.ndarray,
                        map_choices: dict[str, np.ndarray], cam_beam: np.ndarray | None, num_sounded: int,
                        snr_db: np.ndarray = SNR_DB, seed: int = 0) -> dict:
    """Average capacity against SNR, overall / LOS / NLOS, for perfect CSI (best true beam), for every map-based
    method (beam chosen from its map at its location estimate) and for CAM (``models.baselines.cam``).
    true_power_dbm (L, N_b, |W|) at the true positions. Returns {method: {"snr_db", "all", "los", "nlos",
    "per_sample": (S, L)}} with capacities in bits/s/Hz."""
    from models.baselines.cam import cam_beam_choice

    l_idx = np.arange(len(true_power_dbm))
    power_mw = dbm_to_mw(true_power_dbm)
    reference = float(power_mw[l_idx, serving_bs].max(axis=-1).mean())
    choices = {"perfect_csi": true_power_dbm[l_idx, serving_bs].argmax(axis=-1), **map_choices}
    per_sample = {name: beam_tracking_capacity(true_power_dbm, serving_bs, beam, snr_db, reference)
                  for name, beam in choices.items()}
    if cam_beam is not None:
        rng = np.random.default_rng(seed)
        per_sample["cam"] = np.stack([
            beam_tracking_capacity(true_power_dbm, serving_bs,
                                   cam_beam_choice(power_mw, serving_bs, cam_beam, num_sounded, s, reference, rng),
                                   [s], reference)[0] for s in snr_db])
    out = {}
    for name, cap in per_sample.items():
        out[name] = {"snr_db": snr_db.tolist(), "all": cap.mean(axis=1).tolist(), "per_sample": cap,
                     "los": cap[:, los_serving].mean(axis=1).tolist() if los_serving.any() else None,
                     "nlos": cap[:, ~los_serving].mean(axis=1).tolist() if (~los_serving).any() else None}
    return out


def los_to_nlos_window(los_serving: np.ndarray, half_width: int) -> tuple[int, int]:
    """A window of the trajectory around its longest LOS run followed by NLOS (Fig. 12 (a)): (start, stop)."""
    change = np.nonzero(los_serving[:-1] & ~los_serving[1:])[0]
    if len(change) == 0:
        mid = len(los_serving) // 2
    else:  # the LOS -> NLOS transition with the most LOS before and NLOS after it
        def score(i):
            before = los_serving[max(0, i - half_width):i + 1].mean()
            after = 1 - los_serving[i + 1:i + 1 + half_width].mean()
            return before + after
        mid = int(max(change, key=score))
    return max(0, mid - half_width), min(len(los_serving), mid + half_width)


# ------------------------------------------------------------------------------------------------ ratios

def headline_ratios(results: dict) -> dict:
    """The ratios the issues ask for, from the report's results: those of every experiment the evaluation ran (Table
    I, II, IV and Fig. 12 outdoors, Table III indoors), None where a method is missing. The declared variants'
    ratios stand beside the faithful model's under ``<name>_<variant>``."""
    def loc(exp, method, key="mean_error_m"):
        return results.get("localization", {}).get(exp, {}).get(method, {}).get(key)

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else float(a / b)

    localization = results.get("localization", {})
    t4 = results.get("beam_map", {})
    cap = results.get("capacity", {})
    out = {}
    if "table3" in localization:  # section IV-C
        for m in ("skf", "semi_cc_noisy", "real_world_cc"):
            out[f"table3_proposed_over_{m}_mean_error"] = ratio(loc("table3", "proposed"), loc("table3", m))
        for v in VARIANTS:
            if v in localization["table3"]:
                out[f"table3_{v}_over_skf_mean_error"] = ratio(loc("table3", v), loc("table3", "skf"))
    if "table1" in localization:
        out["table1_proposed_over_skf_mean_error"] = ratio(loc("table1", "proposed"), loc("table1", "skf"))
        out["table1_proposed_over_semi_cc_gt_mean_error"] = ratio(loc("table1", "proposed"),
                                                                  loc("table1", "semi_cc_gt"))
        out["table2_proposed_over_lstm_mean_error"] = ratio(loc("table2", "proposed"), loc("table2", "lstm"))
        for m in ("proposed", "proposed_tracked"):
            out[f"table4_m1_{m}_over_skf_nmse"] = ratio(t4.get("m1", {}).get(m, {}).get("nmse"),
                                                        t4.get("m1", {}).get("skf", {}).get("nmse"))
    def best_floor(exp: str) -> float | None:
        return min((loc(exp, f) for f in FLOORS if loc(exp, f) is not None), default=None)

    if "table1_production" in localization:  # what a landed campaign gets, against the best floor of that input
        for m in ("proposed", "proposed_tracked"):
            out[f"table1_production_{m}_over_best_floor_mean_error"] = ratio(loc("table1_production", m),
                                                                             best_floor("table1_production"))
    if "table1_centroid" in localization:  # ... and against the best floor of the paper's label-free input
        out["table1_centroid_geometric_locator_over_best_floor_mean_error"] = ratio(
            loc("table1_centroid", "geometric_locator"), best_floor("table1_centroid"))
        for m in ("proposed", "proposed_tracked"):
            out[f"table1_production_{m}_over_centroid_best_floor_mean_error"] = ratio(
                loc("table1_production", m), best_floor("table1_centroid"))
    perfect, skf = cap.get("perfect_csi"), cap.get("skf")
    for m in ("proposed", "proposed_tracked"):
        suffix = "" if m == "proposed" else f"_{m}"
        prop = cap.get(m)
        if perfect and prop and perfect["los"]:
            out[f"fig12_los_capacity_share_of_perfect{suffix}"] = ratio(prop["los"][-1], perfect["los"][-1])
        if prop and skf and prop["nlos"]:
            out[f"fig12_nlos_capacity_gain_over_skf_high_snr{suffix}"] = ratio(prop["nlos"][-1] - skf["nlos"][-1],
                                                                               skf["nlos"][-1])
    return out
