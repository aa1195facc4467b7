"""Evaluation group, part 2: the report (design 3.3). Scores every method of every experiment against ground truth,
renders the paper's tables and figures, and writes ``$RADIOMAP_HOME/reports/evaluation.{json,md,html}`` plus PNGs;
the same numbers go to MLflow and to the asset's Dagster metadata."""


import base64
import html
import json
import time

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from radiomap_assets import plots
from radiomap_assets.assets.baselines import GROUP, experiment_data, truth_of
from radiomap_assets.assets.simulation import ground_truth_map_name
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.measurement import sample_beam_map
from radiomap_assets.experiments import (COVERAGE_RADIUS_M, FLOOR_NOTE, FLOORS, FULL_EVALUATION_COMMAND, METHODS,
                                         PAPER, PARTICIPANTS, beam_from_map, beam_map_scores, capacity_experiment,
                                         covered_samples, evaluation_cells, headline_ratios, localization_scores,
                                         los_to_nlos_window, map_at_cells, serving_base_station, stop_location,
                                         true_beam_map_at)
from radiomap_assets.profiles import get_profile, home_layout
from resources import BeamMapStore, MlflowTracker, SionnaScene

TABLE_NAMES = {"skf": "SKF", "semi_cc_gt": "Semi-CC-GT", "semi_cc_noisy": "Semi-CC-Noisy",
               "real_world_cc": "Real-world CC", "lstm": "LSTM", "proposed": "Proposed", "coarse input": "coarse input",
               "coarse_ma_1s": "coarse MA 1 s (floor)", "coarse_ma_10s": "coarse MA 10 s (floor)",
               "cv_smoother": "CV smoother (floor)", "skf_causal": "SKF causal (floor)",
               "proposed_smoothed": "Proposed, cv-smoothed targets (variant)",
               "proposed_tracked": "Proposed, tracking prior (variant)"}
M_OF = {"m1": 1, "table1": 3, "m5": 5}  # experiment -> observed beams per base station (table1's M is the profile's)


class Report:
    """Blocks rendered both as Markdown and as self-contained HTML (PNG embedded)."""

    def __init__(self, title: str):
        self.title, self.blocks = title, []

    def heading(self, text: str, level: int = 2):
        self.blocks.append(("h", level, text))

    def text(self, text: str):
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame):
        self.blocks.append(("t", df))

    def image(self, png: bytes, name: str):
        self.blocks.append(("i", png, name))

    def markdown(self, image_dir: str = "") -> str:
        out = [f"# {self.title}\n"]
        for b in self.blocks:
            if b[0] == "h":
                out.append(f"{'#' * b[1]} {b[2]}\n")
            elif b[0] == "p":
                out.append(b[1] + "\n")
            elif b[0] == "t":
                out.append(b[1].to_markdown(index=False) + "\n")
            else:
                out.append(f"![{b[2]}]({image_dir}{b[2]}.png)\n")
        return "\n".join(out)

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for b in self.blocks:
            if b[0] == "h":
                body.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                body.append(f"<p>{html.escape(b[1])}</p>")
            elif b[0] == "t":
                body.append(b[1].to_html(index=False, border=0, classes="t", na_rep=""))
            else:
                body.append(f'<p><img alt="{b[2]}" src="data:image/png;base64,{base64.b64encode(b[1]).decode()}"></p>')
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table.t{border-collapse:collapse}"
                 "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
                 "img{max-width:100%}")
        return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>" \
               f"<style>{style}</style></head><body>{''.join(body)}</body></html>"


def _r(x, nd=3):
    return None if x is None else round(float(x), nd)


def _not_run(what: str, reasons: dict[str, str]) -> str:
    """The line a report section gets where (part of) it was not computed: what, which experiments, why."""
    return f"{what}: not run in this evaluation (" + "; ".join(f"{e}: {r}" for e, r in reasons.items()) + ")."


def _loc_table(exp: str, scores: dict, paper: dict | None, not_run: tuple[str, ...] = ()) -> pd.DataFrame:
    """One localization table; ``not_run``: methods of the experiment this evaluation did not run (a row each,
    marked, with the paper's numbers only)."""
    rows = []
    for m, s in [*scores.items(), *((m, None) for m in not_run)]:
        if s is None:
            p = (paper or {}).get(m)
            rows.append({"scheme": f"{TABLE_NAMES.get(m, m)}: not run ({FULL_EVALUATION_COMMAND})",
                         **({"paper TW": p[0], "paper CT": p[1], "paper mean [m]": p[2], "paper 95th [m]": p[3]}
                            if p else {})})
            continue
        row = {"scheme": TABLE_NAMES.get(m, m), "TW": _r(s["trustworthiness"]), "CT": _r(s["continuity"]),
               "mean [m]": _r(s["mean_error_m"], 2), "95th [m]": _r(s["p95_error_m"], 2),
               "LOS mean [m]": _r(s.get("los_mean_error_m"), 2), "NLOS mean [m]": _r(s.get("nlos_mean_error_m"), 2)}
        if "covered_share" in s:  # Table II: held-out samples the training trajectories visited (within 5 m) or not
            row.update({"covered mean [m]": _r(s["covered_mean_error_m"], 2),
                        "uncovered mean [m]": _r(s["uncovered_mean_error_m"], 2),
                        "covered share": _r(s["covered_share"], 3)})
        if paper is not None:
            p = paper.get(m)
            row.update({"paper TW": p[0] if p else None, "paper CT": p[1] if p else None,
                        "paper mean [m]": p[2] if p else None, "paper 95th [m]": p[3] if p else None})
        rows.append(row)
    return pd.DataFrame(rows)


@asset(group_name=GROUP, deps=["beam_maps"], kinds={"markdown", "html", "mlflow"},
       description="The evaluation report of paper section IV: Tables I, II, IV and Figs. 5-8, 11, 12 with our "
                   "numbers beside the paper's, evaluation.json per method, the same metrics in MLflow.")
def evaluation_report(context: AssetExecutionContext, experiment_campaigns: dict, site_grid: dict, coarse_floors: dict,
                      skf_baseline: dict, semi_cc_gt_baseline: dict, semi_cc_noisy_baseline: dict,
                      real_world_cc_baseline: dict, cam_baseline: dict, lstm_baseline: dict, proposed_method: dict,
                      proposed_variants: dict,
                      scene: SionnaScene, beam_map_store: BeamMapStore, mlflow_tracker: MlflowTracker) -> Output[dict]:
    t0 = time.perf_counter()
    runs = {"skf": skf_baseline, "semi_cc_gt": semi_cc_gt_baseline, "semi_cc_noisy": semi_cc_noisy_baseline,
            "real_world_cc": real_world_cc_baseline, "lstm": lstm_baseline, "proposed": proposed_method,
            **proposed_variants}  # proposed_smoothed, proposed_tracked: declared variants (assets/variants.py)
    # the floors as runs of their own (same shape: {experiment: {"xy": [...], "seconds": ...}})
    runs.update({f: {e: r[f] for e, r in coarse_floors.items() if f in r}
                 for f in FLOORS if f not in ("skf", "skf_causal")})
    runs["skf_causal"] = {e: {"xy": r["causal_xy"], "seconds": r["causal_seconds"]} for e, r in skf_baseline.items()}
    campaigns = experiment_campaigns
    # what this evaluation did not run (experiment_campaigns' selection): whole experiments, and methods of the
    # experiments it ran; each section says so where it would stand
    not_run = campaigns.get("not_run", {})
    methods_not_run = {e: tuple(m for m in PARTICIPANTS.get(e, ()) if e not in runs[m])
                       for e in campaigns["experiments"]}
    methods_not_run = {e: ms for e, ms in methods_not_run.items() if ms}
    centres = site_grid["cell_centres_m"]
    profile = get_profile()
    rep = Report(f"Evaluation of the generative beam-map model ({profile.name} profile, {scene.scene})")
    rep.text(f"Campaigns: {json.dumps(campaigns['experiments'])}. "
             f"Coarse input: {set(campaigns['coarse_method'].values())}"
             " (paper protocol: ground truth + N(0, 400 m^2)). Paper numbers from section IV for comparison; the "
             "paper trains on a GPU with its own ray tracer, our default profile trains each model for a CPU budget.")
    if not_run or methods_not_run:
        rep.text(f"Partial evaluation (the headline of make demo): experiments run {sorted(campaigns['experiments'])}; "
                 f"not run {sorted(not_run)}; sections and rows of what was not run say so. "
                 f"{FULL_EVALUATION_COMMAND} runs every table and figure.")
    results: dict = {"profile": profile.name, "campaigns": campaigns["experiments"], "localization": {},
                     "beam_map": {}, "capacity": {}, "paper": PAPER,
                     "not_run": {"experiments": not_run, "methods": {e: list(m) for e, m in methods_not_run.items()},
                                 "command": FULL_EVALUATION_COMMAND}}
    pngs: dict[str, bytes] = {}

    # --- localization: Table I, Fig. 6, Fig. 7, Table II
    tests, truths = {}, {}  # per experiment: the test trajectories (method inputs) and their ground truth
    for exp, cid in campaigns["experiments"].items():
        train, test = experiment_data(campaigns, exp)
        tests[exp] = test
        truth = truths[exp] = truth_of(cid, test)
        # Table II (held out): error split by samples whose true position the training trajectories visited
        covered = covered_samples(truth.xy, truth_of(cid, train).xy) if exp == "table2" else None
        scores = {"coarse input": localization_scores(truth, [d.coarse_xy for d in test], covered)}
        for m in FLOORS + tuple(m for m in PARTICIPANTS.get(exp, ()) if m not in FLOORS):  # floors first
            if exp in runs[m]:
                scores[m] = localization_scores(truth, runs[m][exp]["xy"], covered)
        results["localization"][exp] = scores
    titles = {"table1": "Table I: uniform trajectory (1 m/s, 10 Hz), M = 3",
              "fig6": "Complex trajectory (stop, acceleration to 10 m/s, deceleration)",
              "m1": "Uniform trajectory, M = 1", "m5": "Uniform trajectory, M = 5",
              "table2": "Table II: generalization to held-out discontinuous trajectories",
              "table1_production": "Table I with the production coarse input (label-free weighted centroid, what a "
                                   "landed campaign gets)"}
    for exp in ("table1", "table1_production", "table2", "fig6"):
        if exp not in results["localization"]:
            if exp in not_run:
                rep.heading(titles[exp])
                rep.text(_not_run("Fig. 6" if exp == "fig6" else titles[exp].split(":")[0], {exp: not_run[exp]}))
            continue
        rep.heading(titles[exp])
        rep.table(_loc_table(exp, results["localization"][exp], PAPER.get(exp), methods_not_run.get(exp, ())))
        rep.text(FLOOR_NOTE)
        if exp in methods_not_run:
            rep.text(f"Not run in this evaluation: {', '.join(TABLE_NAMES.get(m, m) for m in methods_not_run[exp])} "
                     f"(they train models of their own; {FULL_EVALUATION_COMMAND} runs them).")
        if exp == "table2":
            rep.text(f"Covered: a held-out sample whose true position lies within {COVERAGE_RADIUS_M:g} m of a true "
                     "position of a training trajectory (scoring only; covered share = their fraction).")
        test = tests[exp]
        k = 0
        tracks = {"ground truth": truths[exp].xy[k], "coarse input": test[k].coarse_xy}
        tracks.update({m: runs[m][exp]["xy"][k] for m in PARTICIPANTS[exp] if exp in runs[m]})
        star = stop_location(truths[exp].xy[k], test[k].t_s) if exp == "fig6" else None
        fig = {"table1": "fig5_uniform_trajectory", "fig6": "fig6_complex_trajectory", "table2": "fig8_heldout",
               "table1_production": "fig5_uniform_trajectory_production_input"}[exp]
        pngs[fig] = plots.trajectory_comparison(tracks, f"{titles[exp]} ({test[k].trajectory_id})", star=star)
        rep.image(pngs[fig], fig)
    sweep = {m: {M_OF[e]: results["localization"][e][m]["mean_error_m"] for e in M_OF
                 if e in results["localization"] and m in results["localization"][e]}
             for m in ("coarse input", *FLOORS, "semi_cc_gt", "proposed")}  # table rows: coarse, floors, methods
    if any(len(v) > 1 for v in sweep.values()):
        rep.heading("Fig. 7: localization error against the number of observed beams M")
        pngs["fig7_error_vs_m"] = plots.error_versus_measurements(  # the paper's curves; the floors in the table
            {m: v for m, v in sweep.items() if v and m in ("skf", "semi_cc_gt", "proposed")})
        rep.image(pngs["fig7_error_vs_m"], "fig7_error_vs_m")
        rep.table(pd.DataFrame([{"scheme": TABLE_NAMES[m], **{f"M = {k} mean [m]": _r(v.get(k), 2) for k in (1, 3, 5)}}
                                for m, v in sweep.items() if v]))
        rep.text(FLOOR_NOTE)
        results["fig7_mean_error_m"] = {m: {str(k): v for k, v in d.items()} for m, d in sweep.items()}
    elif any(e in not_run for e in M_OF):
        rep.heading("Fig. 7: localization error against the number of observed beams M")
        rep.text(_not_run("Fig. 7", {e: not_run[e] for e in M_OF if e in not_run}))

    # --- Table IV: beam maps along the uniform trajectory, M = 1, 3, 5
    gt = beam_map_store.open_latest(ground_truth_map_name(scene)).load()
    gt_grid = Grid.from_coords(gt.x.values, gt.y.values)
    rows = []
    for exp, m_obs in M_OF.items():
        if exp not in campaigns["experiments"]:
            continue
        cells = evaluation_cells(truths[exp].xy, centres)
        true_g, covered = true_beam_map_at(gt.power_dbm.values, gt.covered.values, gt_grid, centres[cells])
        results["beam_map"][exp] = {"observed_beams_M": m_obs, "cells": int(len(cells))}
        for m in ("skf", "proposed"):
            if exp in runs[m]:
                pred = map_at_cells(runs[m][exp]["map_cells"], runs[m][exp]["map_g"], cells, centres)
                results["beam_map"][exp][m] = beam_map_scores(pred, true_g, covered)
        row = {"M": m_obs}
        for m in ("skf", "proposed"):
            s = results["beam_map"][exp].get(m)
            p = PAPER["table4"][m].get(m_obs)
            row[f"{TABLE_NAMES[m]} NMSE / RMSE"] = f"{s['nmse']:.4f} / {s['rmse']:.3f}" if s else ""
            row[f"paper {TABLE_NAMES[m]}"] = f"{p[0]} / {p[1]}" if p else ""
        rows.append(row)
    if rows or any(e in not_run for e in M_OF):
        rep.heading("Table IV: beam-map reconstruction along the uniform trajectory (normalized maps, covered entries)")
        if rows:
            rep.table(pd.DataFrame(rows))
        if any(e in not_run for e in M_OF):
            rep.text(_not_run(f"Table IV, M = {', '.join(str(M_OF[e]) for e in M_OF if e in not_run)}",
                              {e: not_run[e] for e in M_OF if e in not_run}))

    # --- Fig. 11: base station 1, two beams, ground truth beside the generated map
    try:
        gen = beam_map_store.open_latest(f"generative_{scene.scene}").load()
    except FileNotFoundError:
        gen = None
    if gen is not None and "table1" in truths:
        path = truths["table1"].xy[0]
        lo, hi = path.min(axis=0) - 60, path.max(axis=0) + 60
        g_sel = gen.sel(x=slice(lo[0], hi[0]), y=slice(lo[1], hi[1]))
        along = sample_beam_map(np.nan_to_num(gt.power_dbm.values[:1], nan=-200), gt_grid, path)[:, 0]  # (L, |W|)
        beams = sorted(np.argsort(along.mean(axis=0))[-2:].tolist())
        at_model_grid = {"x": g_sel.x.values, "y": g_sel.y.values, "method": "nearest"}
        truth_img = gt.power_dbm.isel(bs=0).sel(**at_model_grid).values
        cov = gt.covered.isel(bs=0).sel(**at_model_grid).values.astype(bool)
        truth_img = np.where(cov & g_sel.valid.values[None], truth_img, np.nan)[beams]
        gen_img = g_sel.power_dbm.isel(bs=0).values[beams]
        extent = (float(g_sel.x[0]), float(g_sel.x[-1]), float(g_sel.y[0]), float(g_sel.y[-1]))
        pngs["fig11_beam_maps_bs1"] = plots.beam_map_comparison(
            truth_img, gen_img, extent, beams, path, f"base station {int(gen.bs.values[0])}: ground truth (top) and "
            f"generated beam map (bottom), model {gen.attrs.get('model_name')} v{gen.attrs.get('model_version')}")
        rep.heading("Fig. 11: beam maps of base station 1 along the main road")
        rep.image(pngs["fig11_beam_maps_bs1"], "fig11_beam_maps_bs1")
    elif "table1" in not_run:
        rep.heading("Fig. 11: beam maps of base station 1 along the main road")
        rep.text(_not_run("Fig. 11", {"table1": not_run["table1"]}))

    # --- Fig. 12: beam tracking capacity along the uniform trajectory
    if "table1" in truths and "table1" in runs["proposed"]:
        truth = truths["table1"]
        xy, los = np.concatenate(truth.xy), np.concatenate(truth.los)
        true_dbm = sample_beam_map(gt.power_dbm.values, gt_grid, xy)  # (L, N_b, |W|)
        serving = serving_base_station(true_dbm)
        los_serving = los[np.arange(len(los)), serving]
        n_w = true_dbm.shape[-1]
        choices = {}
        for m in ("proposed", "skf"):
            r = runs[m]["table1"]
            choices[m] = beam_from_map(map_at_cells(r["map_cells"], r["map_g"], np.concatenate(r["cells"]), centres),
                                       serving, n_w)
        cam = cam_baseline["table1"]
        cam_beam = np.concatenate(cam["cam_beam"])[np.arange(len(serving)), serving]
        cap = capacity_experiment(true_dbm, los_serving, serving, choices, cam_beam, cam["num_sounded"])
        t_all = np.concatenate([d.t_s for d in tests["table1"]])
        window = los_to_nlos_window(los_serving, half_width=min(300, len(los_serving) // 2))
        pngs["fig12_capacity"] = plots.capacity_figure(cap, window, t_all, los_serving,
                                                       snr_index=len(cap["proposed"]["snr_db"]) - 1)
        results["capacity"] = {k: {kk: vv for kk, vv in v.items() if kk != "per_sample"} for k, v in cap.items()}
        results["capacity_los_share"] = float(los_serving.mean())
        rep.heading("Fig. 12: beam tracking capacity (serving base station = strongest; beam from each method)")
        snr = cap["perfect_csi"]["snr_db"]
        rep.table(pd.DataFrame([{"method": k, **{f"{s:+.0f} dB {part}": _r(v[part][i], 2)
                                                 for part in ("los", "nlos") if v[part] is not None
                                                 for i, s in enumerate(snr) if i in (1, len(snr) - 2)}}
                                for k, v in cap.items()]))
        rep.image(pngs["fig12_capacity"], "fig12_capacity")
    elif "table1" in not_run:
        rep.heading("Fig. 12: beam tracking capacity (serving base station = strongest; beam from each method)")
        rep.text(_not_run("Fig. 12", {"table1": not_run["table1"]}))

    # --- headline ratios beside the paper's
    ratios = headline_ratios(results)
    results["ratios"] = ratios
    rep.heading("Ratios that matter (ours beside the paper's)")
    rep.table(pd.DataFrame([{"ratio": k, "ours": _r(v), "paper": PAPER["ratios"].get(k)} for k, v in ratios.items()]))
    if any(v is None for v in ratios.values()) and (not_run or methods_not_run):
        left_out = {e: f"methods {', '.join(m)} not selected, {FULL_EVALUATION_COMMAND} runs them"
                    for e, m in methods_not_run.items()}
        rep.text(_not_run("Ratios without our number", {**not_run, **left_out}))
    timings = {m: {e: round(r["seconds"], 1) for e, r in runs[m].items()} for m in runs}
    timings["cam"] = {e: round(r["seconds"], 1) for e, r in cam_baseline.items()}
    results["method_seconds"] = timings
    results["models"] = {m: {e: r.get("model_uri") for e, r in runs[m].items()} for m in ("proposed", "lstm")}
    # one entry per method with its metrics (design 3.3)
    results["methods"] = {m: {e: {**results["localization"].get(e, {}).get(m, {}),
                                  **({"beam_map": results["beam_map"][e][m]}
                                     if m in results["beam_map"].get(e, {}) else {})}
                              for e in results["localization"] if m in results["localization"][e]}
                          for m in dict.fromkeys(FLOORS + METHODS) if m != "cam"}
    results["methods"]["cam"] = {"table1": {"capacity": results["capacity"].get("cam")}}

    # --- write files, MLflow, metadata
    out_dir = home_layout().reports
    img_dir = out_dir / "evaluation_figures"
    img_dir.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (img_dir / f"{name}.png").write_bytes(png)
    (out_dir / "evaluation.md").write_text(rep.markdown("evaluation_figures/"))
    (out_dir / "evaluation.html").write_text(rep.html())
    (out_dir / "evaluation.json").write_text(json.dumps(results, indent=2, default=_json_default))
    with mlflow_tracker.run(f"evaluation-{context.run_id[:8]}",
                            {"dagster_run_id": context.run_id, "profile": profile.name}) as run:
        flat = {f"{e}.{m}.{k}": v for e, sc in results["localization"].items() for m, s in sc.items()
                for k, v in s.items() if isinstance(v, float)}
        flat.update({f"table4.{e}.{m}.{k}": v for e, d in results["beam_map"].items() for m, s in d.items()
                     if isinstance(s, dict) for k, v in s.items() if isinstance(v, float)})
        flat.update({f"ratio.{k}": v for k, v in ratios.items() if v is not None})
        run.log_metrics(flat)
        run.log_files([out_dir / f for f in ("evaluation.json", "evaluation.md", "evaluation.html")],
                      img_dir, "evaluation_figures")
    elapsed = time.perf_counter() - t0
    context.log.info(f"report written to {out_dir / 'evaluation.html'} in {elapsed:.1f} s")
    meta = {"report_html": MetadataValue.path(str(out_dir / "evaluation.html")),
            "report_json": MetadataValue.path(str(out_dir / "evaluation.json")),
            "mlflow_run": MetadataValue.text(f"{run.run_id} ({mlflow_tracker.ui_command()})"),
            "ratios": MetadataValue.json({k: _r(v) for k, v in ratios.items()}),
            "not_run": MetadataValue.json(results["not_run"])}
    for exp in ("table1", "table2"):
        if exp in results["localization"]:
            table = _loc_table(exp, results["localization"][exp], PAPER.get(exp))
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
