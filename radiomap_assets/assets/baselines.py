"""Evaluation group, part 1: the campaigns of each experiment and one asset per method of paper section IV.

Every method asset returns ``{experiment: run}`` where a run holds per test trajectory the estimated positions
(``xy``), and, for methods that build a beam map, the map on a set of cells (``map_cells``, ``map_g`` in the
normalized scale). Methods read the same inputs the proposed model gets (masked sparse CSI, time stamps, coarse
locations); only ``semi_cc_gt`` reads ground-truth labels, 500 of them, because that is its definition. Scoring
against ground truth happens in the report asset only.
"""


import dataclasses
import time

import numpy as np
import pandas as pd
import torch
from dagster import AllPartitionMapping, AssetDep, AssetExecutionContext, Config, MetadataValue, Output, asset

from models.beam_map.training import beam_map_along, recover_trajectory
from radiomap_assets import storage
from radiomap_assets.assets.experiment_inputs import (GROUP, ExperimentBudgets, budgets_of, coarse_asset_of,
                                                      experiment_data, experiment_model_steps, experiments_for,
                                                      truth_of)
from radiomap_assets.assets.model_registry import (REGISTERED_MODEL, load_registered_model, profile_model_config,
                                                   train_and_register)
from radiomap_assets.domain.beam_layout import BeamLayout
from radiomap_assets.domain.campaign import power_level_known
from radiomap_assets.domain.geometric_locator import free_space_distance_bound_m
from radiomap_assets.domain.grid import SiteGrid
from radiomap_assets.domain.measurement import observed_power_dbm
from radiomap_assets.domain.model_reference import ModelReference
from radiomap_assets.assets.shared import campaign_site, simulated_kind, site_partitions
from radiomap_assets.experiments import (BEAM_MAP_EXPERIMENTS, COARSE_ASSET, EXPERIMENTS, FULL_EVALUATION_COMMAND,
                                         MAP_CORRIDOR_CELLS, PARTICIPANTS, MethodRun, experiments_of_site)
from radiomap_assets.profiles import Profile
from radiomap_assets.sites import get_site
from resources import MlflowTracker, RunProfile, SionnaScene

class EvaluationSelection(Config):
    """Which experiments (keys of experiments.EXPERIMENTS) and which methods (of experiments.PARTICIPANTS) the
    evaluation runs; None = all of them (job evaluate). The floors, the SKF and CAM run on every selected experiment
    (no training). Job evaluate_headline selects experiments.HEADLINE_EXPERIMENTS and HEADLINE_METHODS."""

    experiments: list[str] | None = None
    methods: list[str] | None = None
    # the budgets of the models the evaluation trains (None = the profile's): set here once, every method asset
    # reads them from this asset's value (experiment_inputs.budgets_of)
    model_steps: int | None = None  # proposed, its variants, the LSTM: training steps per experiment
    chart_steps: int | None = None  # channel-charting baselines' steps
    labelled_samples: int = 500  # Semi-CC-GT's ground-truth labels (paper: 500)


# ------------------------------------------------------------------------------------------------ inputs

@asset(group_name=GROUP, kinds={"python"}, partitions_def=site_partitions,
       deps=[AssetDep(a, partition_mapping=AllPartitionMapping())
             for a in ("masked_sparse_csi", "coarse_locations", "paper_protocol_coarse_locations",
                       "centroid_coarse_locations")],
       description="Which ingested campaign serves which experiment (by simulated kind), the coarse input of each "
                   "(experiments.EXPERIMENTS: the paper's tables get paper_protocol_coarse_locations, "
                   "table1_production the label-free coarse_locations), and Table II's split of the random "
                   "trajectories into train / held out.")
def experiment_campaigns(context: AssetExecutionContext, config: EvaluationSelection,
                         run_profile: RunProfile) -> Output[dict]:
    site = context.partition_key
    run_profile = run_profile.at(site)
    known_methods = sorted({m for p in PARTICIPANTS.values() for m in p})
    methods_named = {m.split("/", 1)[-1] for m in config.methods or ()}
    unknown = (sorted(set(config.experiments or ()) - set(EXPERIMENTS))
               + sorted(methods_named - set(known_methods)))
    if unknown:
        raise ValueError(f"unknown experiment(s) or method(s) {unknown}: experiments are {sorted(EXPERIMENTS)}, "
                         f"methods {known_methods} (a method of one experiment only: '<experiment>/<method>')")
    of_site = experiments_of_site(site)
    selected = [e for e in (of_site if config.experiments is None else config.experiments) if e in of_site]
    ingested = storage.materialized_campaigns(context.instance, "masked_sparse_csi", "coarse_locations",
                                              "raw_channel_measurements")
    by_kind: dict[str, str] = {}
    for cid in ingested:  # several campaigns of one kind: the most recently accepted one
        kind = simulated_kind(cid)
        if kind is None or campaign_site(cid) != site:  # only this site's campaigns serve its experiments
            continue
        if kind not in by_kind or (storage.partition_path("masked_sparse_csi", cid).stat().st_mtime
                                   > storage.partition_path("masked_sparse_csi", by_kind[kind]).stat().st_mtime):
            by_kind[kind] = cid
    experiments = {exp: by_kind[x.kind] for exp, x in EXPERIMENTS.items() if x.kind in by_kind and exp in selected}
    if not experiments or ("table1" in selected and "table1" not in experiments):
        raise ValueError(f"no ingested campaign of site {site!r} for experiment(s) {selected} (Table I needs the "
                         f"uniform one) among {ingested}: run simulate_site and ingest_campaign first")
    missing_truth = sorted({cid for cid in experiments.values()
                            if storage.load_partition("raw_channel_measurements", cid).ground_truth_path is None})
    if missing_truth:
        raise ValueError(f"campaign(s) {missing_truth} have no ground truth: the experiments need simulated campaigns")
    coarse_asset = {exp: COARSE_ASSET[exp] for exp in experiments}
    missing: dict[str, list[str]] = {}
    for exp, cid in experiments.items():
        asset_name = coarse_asset[exp]
        if cid not in storage.materialized_campaigns(context.instance, asset_name):
            missing.setdefault(asset_name, [])
            if cid not in missing[asset_name]:
                missing[asset_name].append(cid)
    if missing:
        raise ValueError("the experiments' coarse inputs are not materialized: " + "; ".join(
            f"{a} for campaign(s) {sorted(c)}" for a, c in missing.items())
            + ". Run the job paper_protocol (one run per campaign partition) for paper_protocol_coarse_locations "
              "and centroid_coarse_locations, ingest_campaign for coarse_locations.")
    methods = {exp: str(storage.load_partition(coarse_asset[exp], cid).attrs.get("method", ""))
               for exp, cid in experiments.items()}
    split = {}
    if "table2" in experiments:
        table2_csi = storage.load_partition("masked_sparse_csi", experiments["table2"])
        ids = list(dict.fromkeys(table2_csi.trajectory_id.tolist()))
        heldout = min(run_profile.get().campaign.heldout_trajectories, len(ids) // 2)
        order = np.random.default_rng(0).permutation(len(ids))
        split = {"test": sorted(ids[i] for i in order[:heldout]), "train": sorted(ids[i] for i in order[heldout:])}
    versions = {exp: {a: storage.content_version(a, cid) for a in ("masked_sparse_csi", coarse_asset[exp])}
                for exp, cid in experiments.items()}
    # what the report marks as not run, and why (the methods: None = every participant of each experiment)
    not_run = {exp: (f"not selected, {FULL_EVALUATION_COMMAND} runs it" if exp not in selected
                     else f"no ingested {EXPERIMENTS[exp].kind} campaign")
               for exp in of_site if exp not in experiments}
    value = {"site": site, "experiments": experiments, "coarse_asset": coarse_asset, "coarse_method": methods,
             "data_versions": versions, "table2_split": split, "not_run": not_run,
             "methods": list(config.methods) if config.methods is not None else None,
             "budgets": dataclasses.asdict(ExperimentBudgets(config.model_steps, config.chart_steps,
                                                             config.labelled_samples))}
    table = pd.DataFrame([{"experiment": e, "campaign": c, "coarse input": coarse_asset[e],
                           "coarse method": methods[e], "coarse version": versions[e][coarse_asset[e]]}
                          for e, c in experiments.items()])
    return Output(value, metadata={"experiments": MetadataValue.md(table.to_markdown(index=False)),
                                   "not_run": MetadataValue.json(not_run),
                                   "methods": MetadataValue.json(value["methods"] or "all"),
                                   "table2_train_trajectories": len(split.get("train", [])),
                                   "table2_heldout_trajectories": len(split.get("test", []))})


def _summary(runs: dict) -> dict:
    if not runs:
        return {"not_run": f"no selected experiment: {FULL_EVALUATION_COMMAND} runs the full evaluation"}
    return {"experiments": MetadataValue.json({e: {"trajectories": len(r.xy), "seconds": round(r.seconds, 1)}
                                               for e, r in runs.items()})}


# ------------------------------------------------------------------------------------------------ methods

@asset(group_name=GROUP, kinds={"numpy"}, partitions_def=site_partitions,
       description="SKF baseline (ref. [26]): Kalman smoother on the coarse locations, constant-velocity model, fused "
                   "with a grid radio-map likelihood of the sparse CSI; the map is re-estimated from the smoother's "
                   "own estimates (EM). No labels. Its radio map is the Table IV baseline. Runs on every experiment "
                   "(a floor of every localization table), twice: smoother (skf) and forward filter only "
                   "(MethodRun.causal: skf_causal).")
def skf_baseline(context: AssetExecutionContext, experiment_campaigns: dict, site_grid: SiteGrid) -> Output[dict]:
    from models.baselines.kalman import SKFConfig, radio_map_kalman_smoother

    centres = site_grid.cell_centres_m
    runs = {}
    for exp in experiment_campaigns["experiments"]:  # every experiment: the SKF is a floor of every table
        _, test = experiment_data(experiment_campaigns, exp)
        t0 = time.perf_counter()
        res = radio_map_kalman_smoother(test, centres, SKFConfig())
        t1 = time.perf_counter()
        causal = radio_map_kalman_smoother(test, centres, SKFConfig(causal=True))  # skf_causal: no RTS pass
        causal_run = MethodRun(causal.xy, time.perf_counter() - t1, history=causal.history)
        runs[exp] = MethodRun(res.xy, t1 - t0, cells=res.cells, map_cells=np.arange(len(centres)),
                              map_g=res.filled_radio_map(centres).astype(np.float32), history=res.history,
                              causal=causal_run)
        context.log.info(f"skf {exp}: {sum(len(d) for d in test):,} samples in {runs[exp].seconds:.1f} s, "
                         f"causal {causal_run.seconds:.1f} s")
    return Output(runs, metadata=_summary(runs))


def _chart_runs(context, method: str, campaigns: dict, config: ExperimentBudgets, profile: Profile) -> dict:
    from models.baselines.channel_charting import (choose_labelled_samples, predict_chart, train_channel_chart,
                                                   variant_config)

    site = get_site(profile.scene.site)
    runs = {}
    for exp in experiments_for(method, campaigns):
        train, test = experiment_data(campaigns, exp)
        cid = campaigns["experiments"][exp]
        chart_config, supervision = variant_config(method, config.chart_steps or profile.beam_map.chart_steps)
        chart_config = dataclasses.replace(chart_config, position_scale_m=site.position_scale_m)
        kwargs = {}
        if supervision == "labels":  # Semi-CC-GT: 500 ground-truth labels, from the training trajectories only
            truth = truth_of(cid, train)
            chosen = choose_labelled_samples([len(d) for d in train], config.labelled_samples, chart_config.seed)
            kwargs["labels_xy"] = [np.where(c[:, None], xy, np.nan) for c, xy in zip(chosen, truth.xy)]
        elif supervision == "base_stations":
            camp = storage.load_partition("raw_channel_measurements", cid)
            kwargs["bs_xy"] = camp.bs_positions[:, :2]
            kwargs["beams_per_bs"] = camp.num_beams
            # the box prior: the site's simulated region (what a deployer knows of the site; the hall's L with its
            # margin: 4.08 m on Table III against 4.60 m with the base stations' box padded by 50 m, 2026-11-28)
            kwargs["site_box"] = site.region_m
            if power_level_known(camp.manifest) and np.isfinite(camp.bs_positions[:, :2]).all():
                # the distance model: the largest distance each sample's received power allows in free space
                layout = BeamLayout(len(camp.bs_ids), camp.num_beams)
                kwargs["bs_max_distance_m"] = [free_space_distance_bound_m(
                    observed_power_dbm(d.g, d.m, layout), camp.manifest, site.tx_power_dbm) for d in train]
        t0 = time.perf_counter()
        net, history = train_channel_chart(train, supervision, chart_config, **kwargs)
        xy = [predict_chart(net, d.g, d.m) for d in test]
        runs[exp] = MethodRun(xy, time.perf_counter() - t0, history=history,
                              diagnostics={"final_losses": history[-1] if history else {}})
        context.log.info(f"{method} {exp}: {runs[exp].seconds:.1f} s")
    return runs


def _chart_asset(method: str, description: str):
    """One asset per channel-charting variant; they differ only in the variant (models.baselines.channel_charting)."""

    @asset(name=f"{method}_baseline", group_name=GROUP, kinds={"pytorch"}, partitions_def=site_partitions,
           description=description)
    def _baseline(context: AssetExecutionContext, experiment_campaigns: dict, run_profile: RunProfile) -> Output[dict]:
        runs = _chart_runs(context, method, experiment_campaigns, budgets_of(experiment_campaigns),
                           run_profile.at(context.partition_key).get())
        return Output(runs, metadata=_summary(runs))

    return _baseline


semi_cc_gt_baseline = _chart_asset(
    "semi_cc_gt", "Semi-supervised channel chart: triplet loss + location loss on 500 ground-truth labels (λ_c = 1).")
semi_cc_noisy_baseline = _chart_asset(
    "semi_cc_noisy", "Semi-supervised channel chart on the coarse noisy locations (λ_c = 0.01, λ_t = 1).")
real_world_cc_baseline = _chart_asset(
    "real_world_cc", "Real-world channel chart (ref. [25]): base-station positions as the only weak supervision.")


@asset(group_name=GROUP, kinds={"numpy"}, partitions_def=site_partitions,
       description="CAM-aided CSI tracking (ref. [30]): channel angle map from the sparse CSI at the coarse "
                   "locations; the report sounds N_t/2 beams around its angle and serves the strongest (Fig. 12).")
def cam_baseline(context: AssetExecutionContext, experiment_campaigns: dict, site_grid: SiteGrid) -> Output[dict]:
    from models.baselines.cam import channel_angle_map
    from models.beam_map.radio_map import nearest_cell

    if "table1" not in experiment_campaigns["experiments"]:  # Fig. 12 is on Table I's trajectory only
        return Output({}, metadata=_summary({}))
    centres = site_grid.cell_centres_m
    _, test = experiment_data(experiment_campaigns, "table1")
    camp = storage.load_partition("raw_channel_measurements", experiment_campaigns["experiments"]["table1"])
    t0 = time.perf_counter()
    cells = [nearest_cell(torch.from_numpy(d.coarse_xy).float(), torch.from_numpy(centres).float()).numpy()
             for d in test]
    cam = channel_angle_map(np.concatenate(cells), np.concatenate([d.g for d in test]),
                            np.concatenate([d.m for d in test]), centres, camp.num_beams)
    runs = {"table1": MethodRun([d.coarse_xy for d in test], time.perf_counter() - t0,
                                cam_beam=[cam[c] for c in cells],
                                num_sounded=max(1, int(camp.manifest["base_stations"][0]["num_antennas"]) // 2))}
    return Output(runs, metadata=_summary(runs))


@asset(group_name=GROUP, kinds={"numpy"}, partitions_def=site_partitions,
       description="Geometric locator (ours; radiomap_assets.domain.geometric_locator), what production's "
                   "coarse_locations computes by default: per sample the likelihood of its observed beams at every "
                   "walkable cell under the line-of-sight free-space prediction from the known arrays (the scene's "
                   "buildings for the line of sight), an HMM over the walkable cells, the experiment's coarse input "
                   "(table1_centroid: the weighted centroid) as a weak prior. Label-free, no learned model.")
def geometric_locator_baseline(context: AssetExecutionContext, experiment_campaigns: dict, site_grid: SiteGrid,
                               scene: SionnaScene) -> Output[dict]:
    from radiomap_assets.domain.geometric_locator import (PropagationPrior, campaign_geometric_locations,
                                                          positioned_base_stations)

    runs, prior = {}, PropagationPrior()
    site_scene = scene.at(context.partition_key)
    for exp in experiments_for("geometric_locator", experiment_campaigns):
        cid = experiment_campaigns["experiments"][exp]
        camp = storage.load_partition("raw_channel_measurements", cid)
        _, test = experiment_data(experiment_campaigns, exp)
        t0 = time.perf_counter()
        bs = camp.bs_positions
        cells, los = site_scene.line_of_sight_to_cells(site_grid, bs[positioned_base_stations(bs)])
        layout = BeamLayout(len(camp.bs_ids), camp.num_beams)
        xy = [campaign_geometric_locations(observed_power_dbm(d.g, d.m, layout), np.zeros(len(d), int), d.t_s,
                                           camp.manifest, bs, cells, los, site_grid, site_scene.site.tx_power_dbm,
                                           prior, coarse_xy=d.coarse_xy)
              for d in test]  # one trajectory at a time: its HMM, its coarse input as the weak prior
        runs[exp] = MethodRun(xy, time.perf_counter() - t0, diagnostics={"prior": dataclasses.asdict(prior)})
        context.log.info(f"geometric_locator {exp}: {sum(len(d) for d in test):,} samples in "
                         f"{runs[exp].seconds:.1f} s")
    return Output(runs, metadata=_summary(runs))


def _generative_runs(context, rnn_cell: str, campaigns: dict, config: ExperimentBudgets, site_grid: SiteGrid,
                     mlflow_tracker: MlflowTracker, reuse: ModelReference | None, profile: Profile) -> dict:
    method = "proposed" if rnn_cell == "gru" else "lstm"
    runs = {}
    for exp in experiments_for(method, campaigns):
        cid = campaigns["experiments"][exp]
        coarse_asset = coarse_asset_of(campaigns, exp)
        train, test = experiment_data(campaigns, exp)
        versions = {cid: {a: storage.content_version(a, cid) for a in ("masked_sparse_csi", coarse_asset)}}
        t0 = time.perf_counter()
        if reuse is not None and not config.model_steps and reuse.trained_on(cid, coarse_asset, versions):
            ref = reuse  # the model group's model was trained on exactly this campaign and coarse input
            model = load_registered_model(ref)
        else:
            steps = experiment_model_steps(profile, exp, config.model_steps, train[0].g.shape[1])
            mconfig = profile_model_config(profile, train[0].g.shape[1], steps)
            name = f"{REGISTERED_MODEL if rnn_cell == 'gru' else 'lstm_beam_map'}_{exp}"
            ref, _, _ = train_and_register(context, mlflow_tracker, site_grid, train, mconfig, rnn_cell, name, [cid],
                                           versions, profile.name, tags={"experiment": exp, "method": method},
                                           coarse_asset=coarse_asset)
            model = load_registered_model(ref)
        xy, cells = zip(*(recover_trajectory(model, d.g, d.m) for d in test))
        run = MethodRun(list(xy), cells=list(cells), model_uri=ref.model_uri, mlflow_run_id=ref.mlflow_run_id,
                        train_wall_time_s=ref.train_wall_time_s, coarse_asset=coarse_asset,
                        reused_model_group_version=ref is reuse)
        if exp in BEAM_MAP_EXPERIMENTS:  # Table IV / Fig. 12: the decoded beam map along its own trajectory
            run.map_cells, run.map_g = beam_map_along(model, list(xy), list(cells), MAP_CORRIDOR_CELLS)
        run.seconds = time.perf_counter() - t0
        runs[exp] = run
        context.log.info(f"{method} {exp}: {run.seconds:.1f} s ({ref.model_uri})")
    return runs


@asset(group_name=GROUP, kinds={"pytorch", "mlflow"}, partitions_def=site_partitions,
       description="The proposed model per experiment: the model group's version where it was trained on exactly "
                   "that campaign and coarse input (table1_production: production coarse_locations), else a model "
                   "trained the same way on the experiment's campaign and coarse input (registered in MLflow); "
                   "recovered trajectories and its decoded beam map along them.")
def proposed_method(context: AssetExecutionContext, experiment_campaigns: dict,
                    site_grid: SiteGrid, beam_map_model: ModelReference, mlflow_tracker: MlflowTracker,
                    run_profile: RunProfile) -> Output[dict]:
    runs = _generative_runs(context, "gru", experiment_campaigns, budgets_of(experiment_campaigns), site_grid,
                            mlflow_tracker, beam_map_model,
                            run_profile.at(context.partition_key).get())
    return Output(runs, metadata={**_summary(runs), "models": MetadataValue.json(
        {e: r.model_uri for e, r in runs.items()})})


@asset(group_name=GROUP, kinds={"pytorch", "mlflow"}, partitions_def=site_partitions,
       description="LSTM baseline of Table II: the proposed model with each hybrid RNN-CNN block replaced by a plain "
                   "causal LSTM layer, everything else equal; trained on the random trajectories, scored held out.")
def lstm_baseline(context: AssetExecutionContext, experiment_campaigns: dict,
                  site_grid: SiteGrid, mlflow_tracker: MlflowTracker, run_profile: RunProfile) -> Output[dict]:
    runs = _generative_runs(context, "lstm", experiment_campaigns, budgets_of(experiment_campaigns), site_grid,
                            mlflow_tracker, None,
                            run_profile.at(context.partition_key).get())
    return Output(runs, metadata={**_summary(runs), "models": MetadataValue.json(
        {e: r.model_uri for e, r in runs.items()})})
