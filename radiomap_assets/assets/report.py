"""Evaluation group, part 2: the report (design 3.3). Scores every method of every experiment against ground truth
(``evaluation.scoring``), renders the paper's tables and figures (``evaluation.rendering``), and writes
``$RADIOMAP_HOME/reports/evaluation.{json,md,html}`` plus PNGs; the same numbers go to MLflow and to the asset's
Dagster metadata (this module)."""

import dataclasses
import json
import time
from datetime import datetime, timezone

import numpy as np
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from radiomap_assets import plots
from radiomap_assets.assets.experiment_inputs import GROUP, experiment_data, truth_of
from radiomap_assets.assets.shared import generative_map_name, ground_truth_map_name, site_partitions
from radiomap_assets.domain.grid import Grid, SiteGrid
from radiomap_assets.evaluation import rendering, scoring
from radiomap_assets.experiments import PAPER, covered_samples
from radiomap_assets.profiles import home_layout
from resources import BeamMapStore, MlflowTracker, RunProfile, SionnaScene


@asset(group_name=GROUP, deps=["beam_maps"], kinds={"markdown", "html", "mlflow"}, partitions_def=site_partitions,
       description="The evaluation report of paper section IV for one site (San Francisco: Tables I, II, IV and Figs. "
                   "5-8, 11, 12; the indoor hall: Table III and Fig. 10) with our numbers beside the paper's, "
                   "evaluation.json per method, the same metrics in MLflow; under reports/<site>/.")
def evaluation_report(context: AssetExecutionContext, experiment_campaigns: dict, site_grid: SiteGrid,
                      coarse_floors: dict,
                      skf_baseline: dict, semi_cc_gt_baseline: dict, semi_cc_noisy_baseline: dict,
                      real_world_cc_baseline: dict, cam_baseline: dict, lstm_baseline: dict, proposed_method: dict,
                      proposed_variants: dict, geometric_locator_baseline: dict,
                      scene: SionnaScene, beam_map_store: BeamMapStore, mlflow_tracker: MlflowTracker,
                      run_profile: RunProfile) -> Output[dict]:
    t0 = time.perf_counter()
    site = context.partition_key
    scene, run_profile = scene.at(site), run_profile.at(site)
    runs = scoring.method_runs(
        {"skf": skf_baseline, "semi_cc_gt": semi_cc_gt_baseline, "semi_cc_noisy": semi_cc_noisy_baseline,
         "real_world_cc": real_world_cc_baseline, "lstm": lstm_baseline, "proposed": proposed_method,
         "geometric_locator": geometric_locator_baseline,
         **proposed_variants},  # proposed_smoothed, proposed_tracked: declared variants (assets/variants.py)
        coarse_floors, skf_baseline)
    campaigns = experiment_campaigns
    # what this evaluation did not run (experiment_campaigns' selection): whole experiments, and methods of the
    # experiments it ran; each section says so where it would stand
    not_run = campaigns.get("not_run", {})
    not_run_methods = scoring.methods_not_run(campaigns["experiments"], runs)
    centres = site_grid.cell_centres_m
    profile = run_profile.get()

    # --- inputs: per experiment the test trajectories (what the methods saw), their truth, Table II's coverage
    tests, truths, covered = {}, {}, {}
    for exp, cid in campaigns["experiments"].items():
        train, test = experiment_data(campaigns, exp)
        tests[exp], truths[exp] = test, truth_of(cid, test)
        if exp == "table2":  # error split by samples whose true position the training trajectories visited
            covered[exp] = covered_samples(truths[exp].xy, truth_of(cid, train).xy)
    gt = beam_map_store.open_latest(ground_truth_map_name(site)).load()
    gt_grid = Grid.from_coords(gt.x.values, gt.y.values)

    # --- scoring
    results = scoring.new_results(profile.name, campaigns["experiments"], not_run, not_run_methods, site)
    results["localization"] = scoring.score_localization(runs, tests, truths, covered)
    sweep = scoring.error_versus_beams(results["localization"])
    if any(len(v) > 1 for v in sweep.values()):
        results["fig7_mean_error_m"] = {m: {str(k): v for k, v in d.items()} for m, d in sweep.items()}
    by_share = scoring.error_versus_sample_share(results["localization"])
    if any(len(v) > 1 for v in by_share.values()):
        results["fig10_mean_error_m"] = {m: {str(k): v for k, v in d.items()} for m, d in by_share.items()}
    results["beam_map"] = scoring.score_beam_maps(runs, truths, centres, gt.power_dbm.values, gt.covered.values,
                                                  gt_grid)
    capacity = None
    if "table1" in truths and "table1" in runs["proposed"]:
        capacity = scoring.score_capacity(runs, cam_baseline["table1"], truths["table1"], tests["table1"], centres,
                                          gt.power_dbm.values, gt_grid)
        results["capacity"] = {k: {kk: vv for kk, vv in v.items() if kk != "per_sample"}
                               for k, v in capacity.capacity.items()}
        results["capacity_los_share"] = float(capacity.los_serving.mean())
    scoring.summarize(results, runs, cam_baseline)
    results["provenance"] = scoring.provenance(runs, context.run_id, mlflow_tracker.git_commit(),
                                               dataclasses.asdict(profile),
                                               datetime.now(timezone.utc).isoformat(timespec="seconds"))

    # --- rendering: figures, then the report
    pngs = rendering.trajectory_figures(runs, tests, truths)
    if "fig7_mean_error_m" in results:  # the paper's curves; the floors are in the table
        pngs["fig7_error_vs_m"] = plots.error_versus_measurements(
            {m: v for m, v in sweep.items() if v and m in ("skf", "semi_cc_gt", "proposed")})
    if "fig10_mean_error_m" in results:  # the paper's curves; the floors are in the table
        pngs["fig10_error_vs_sample_share"] = plots.error_versus_measurements(
            {m: v for m, v in by_share.items() if v and m in ("cv_smoother", "skf", "semi_cc_noisy", "real_world_cc",
                                                              "proposed", "proposed_smoothed_tracked")},
            xlabel="share of the trajectory samples used [%]")
    try:
        gen = beam_map_store.open_latest(generative_map_name(site)).load()
    except FileNotFoundError:
        gen = None
    if gen is not None and "table1" in truths:
        pngs["fig11_beam_maps_bs1"] = rendering.beam_map_figure(gt, gt_grid, gen, truths["table1"].xy[0])
    if capacity is not None:
        pngs["fig12_capacity"] = rendering.capacity_figure(capacity)
    rep = rendering.render(results, pngs, f"Evaluation of the generative beam-map model ({profile.name} profile, "
                                          f"{scene.site.name})", not_run, not_run_methods,
                           set(campaigns["coarse_method"].values()), capacity)

    # --- writing: files, MLflow, metadata
    out_dir = home_layout().reports / site
    img_dir = out_dir / "evaluation_figures"
    img_dir.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (img_dir / f"{name}.png").write_bytes(png)
    (out_dir / "evaluation.md").write_text(rep.markdown("evaluation_figures/"))
    (out_dir / "evaluation.html").write_text(rep.html())
    (out_dir / "evaluation.json").write_text(json.dumps(results, indent=2, default=_json_default))
    with mlflow_tracker.run(f"evaluation-{context.run_id[:8]}",
                            {"dagster_run_id": context.run_id, "profile": profile.name, "site": site}) as run:
        run.log_metrics(scoring.flat_metrics(results))
        run.log_files([out_dir / f for f in ("evaluation.json", "evaluation.md", "evaluation.html")],
                      img_dir, "evaluation_figures")
    elapsed = time.perf_counter() - t0
    context.log.info(f"report written to {out_dir / 'evaluation.html'} in {elapsed:.1f} s")
    ratios = results["ratios"]
    meta = {"report_html": MetadataValue.path(str(out_dir / "evaluation.html")),
            "report_json": MetadataValue.path(str(out_dir / "evaluation.json")),
            "mlflow_run": MetadataValue.url(mlflow_tracker.run_url(run.run_id)),
            "ratios": MetadataValue.json({k: rendering.rounded(v) for k, v in ratios.items()}),
            "not_run": MetadataValue.json(results["not_run"])}
    for exp in ("table1", "table2", "table3"):
        if exp in results["localization"]:
            table = rendering.localization_table(results["localization"][exp], PAPER.get(exp))
            meta[exp] = MetadataValue.md(table.to_markdown(index=False))
    for name in ("fig5_uniform_trajectory", "fig12_capacity"):
        if name in pngs:
            meta[name] = MetadataValue.md(plots.markdown_image(pngs[name], name))
    return Output({"path": str(out_dir / "evaluation.html"), "json": str(out_dir / "evaluation.json"),
                   "mlflow_run_id": run.run_id, "ratios": ratios}, metadata=meta)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)
