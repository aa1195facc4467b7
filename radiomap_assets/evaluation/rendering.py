"""Rendering of the evaluation report: the scored ``results`` (``evaluation.scoring``) and the figures into one
Markdown / self-contained HTML report, section by section as in paper section IV, with the paper's numbers beside
ours and a line wherever this evaluation did not run something. No Dagster, no files."""

from __future__ import annotations

import base64
import html
import json

import numpy as np
import pandas as pd

from radiomap_assets import plots
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.measurement import sample_beam_map
from radiomap_assets.evaluation.scoring import M_OF, MAP_METHODS, CapacityScore
from radiomap_assets.experiments import (COVERAGE_RADIUS_M, FLOOR_NOTE, FULL_EVALUATION_COMMAND, PAPER,
                                         PARTICIPANTS, stop_location)
from radiomap_assets.sites import get_site

TABLE_NAMES = {"skf": "SKF", "semi_cc_gt": "Semi-CC-GT", "semi_cc_noisy": "Semi-CC-Noisy",
               "real_world_cc": "Real-world CC", "lstm": "LSTM", "proposed": "Proposed", "coarse input": "coarse input",
               "coarse_ma_1s": "coarse MA 1 s (floor)", "coarse_ma_10s": "coarse MA 10 s (floor)",
               "cv_smoother": "CV smoother (floor)", "skf_causal": "SKF causal (floor)",
               "proposed_smoothed": "Proposed, cv-smoothed targets (variant)",
               "proposed_tracked": "Proposed, tracking prior (variant)",
               "proposed_smoothed_tracked": "Proposed, cv-smoothed targets + tracking prior (variant)",
               "geometric_locator": "Geometric locator (label-free: site map + array physics, no learned model)"}
TITLES = {"table1": "Table I: uniform trajectory (1 m/s, 10 Hz), M = 3",
          "fig6": "Complex trajectory (stop, acceleration to 10 m/s, deceleration)",
          "m1": "Uniform trajectory, M = 1", "m5": "Uniform trajectory, M = 5",
          "table2": "Table II: generalization to held-out discontinuous trajectories",
          "table1_production": "Table I with the production coarse input (label-free geometric locator, what a "
                               "landed campaign gets)",
          "table1_centroid": "Table I with the paper's label-free coarse input (weighted centroid, section II-B): "
                             "its floors, and the geometric locator that production computes from it",
          "table3": "Table III: indoor hall, robot trajectories through the L (paper protocol: truth + N(0, 25 m^2))"}
TRAJECTORY_FIGURES = {"table1": "fig5_uniform_trajectory", "fig6": "fig6_complex_trajectory", "table2": "fig8_heldout",
                      "table1_production": "fig5_uniform_trajectory_production_input",
                      "table1_centroid": "fig5_uniform_trajectory_centroid_input",
                      "table3": "fig9_indoor_trajectory"}
FIG10 = "Fig. 10: indoor positioning error against the share of trajectory samples used"
FIG11 = "Fig. 11: beam maps of base station 1 along the main road"
FIG12 = "Fig. 12: beam tracking capacity (serving base station = strongest; beam from each method)"


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


def rounded(x, nd=3):
    return None if x is None else round(float(x), nd)


def not_run_line(what: str, reasons: dict[str, str]) -> str:
    """The line a report section gets where (part of) it was not computed: what, which experiments, why."""
    return f"{what}: not run in this evaluation (" + "; ".join(f"{e}: {r}" for e, r in reasons.items()) + ")."


def localization_table(scores: dict, paper: dict | None, not_run: tuple[str, ...] = ()) -> pd.DataFrame:
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
        row = {"scheme": TABLE_NAMES.get(m, m), "TW": rounded(s["trustworthiness"]), "CT": rounded(s["continuity"]),
               "mean [m]": rounded(s["mean_error_m"], 2), "95th [m]": rounded(s["p95_error_m"], 2),
               "LOS mean [m]": rounded(s.get("los_mean_error_m"), 2),
               "NLOS mean [m]": rounded(s.get("nlos_mean_error_m"), 2)}
        if "covered_share" in s:  # Table II: held-out samples the training trajectories visited (within 5 m) or not
            row.update({"covered mean [m]": rounded(s["covered_mean_error_m"], 2),
                        "uncovered mean [m]": rounded(s["uncovered_mean_error_m"], 2),
                        "covered share": rounded(s["covered_share"], 3)})
        if paper is not None:
            p = paper.get(m)
            row.update({"paper TW": p[0] if p else None, "paper CT": p[1] if p else None,
                        "paper mean [m]": p[2] if p else None, "paper 95th [m]": p[3] if p else None})
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------------ figures

def trajectory_figures(runs: dict, tests: dict, truths: dict) -> dict[str, bytes]:
    """Figs. 5, 6, 8: the first test trajectory of each localization experiment, every method beside the truth."""
    pngs = {}
    for exp, fig in TRAJECTORY_FIGURES.items():
        if exp not in tests:
            continue
        test, k = tests[exp], 0
        tracks = {"ground truth": truths[exp].xy[k], "coarse input": test[k].coarse_xy}
        tracks.update({m: runs[m][exp].xy[k] for m in PARTICIPANTS[exp] if exp in runs[m]})
        star = stop_location(truths[exp].xy[k], test[k].t_s) if exp == "fig6" else None
        pngs[fig] = plots.trajectory_comparison(tracks, f"{TITLES[exp]} ({test[k].trajectory_id})", star=star)
    return pngs


def beam_map_figure(gt, gt_grid: Grid, gen, path: np.ndarray) -> bytes:
    """Fig. 11: base station 1, its two strongest beams along ``path``, ground truth above the generated map."""
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
    return plots.beam_map_comparison(
        truth_img, gen_img, extent, beams, path, f"base station {int(gen.bs.values[0])}: ground truth (top) and "
        f"generated beam map (bottom), model {gen.attrs.get('model_name')} v{gen.attrs.get('model_version')}")


def capacity_figure(score: CapacityScore) -> bytes:
    cap = score.capacity
    return plots.capacity_figure(cap, score.window, score.t_s, score.los_serving,
                                 snr_index=len(cap["proposed"]["snr_db"]) - 1)


# ------------------------------------------------------------------------------------------------------- report

def render(results: dict, pngs: dict[str, bytes], title: str, not_run: dict, not_run_methods: dict,
           coarse_methods: set, capacity: CapacityScore | None) -> Report:
    """The whole report from the scored results and the figures."""
    rep = Report(title)
    site = results.get("site", "san_francisco")
    variance = get_site(site).coarse_noise_variance_m2
    rep.text(f"Site {site}. Campaigns: {json.dumps(results['campaigns'])}. Coarse "
             f"input: {coarse_methods} (paper protocol: ground truth + N(0, {variance:g} m^2)). Paper numbers from "
             "section IV for comparison; the "
             "paper trains on a GPU with its own ray tracer, our default profile trains each model for a CPU budget.")
    if not_run or not_run_methods:
        rep.text(f"Partial evaluation (the headline of make demo): experiments run {sorted(results['campaigns'])}; "
                 f"not run {sorted(not_run)}; sections and rows of what was not run say so. "
                 f"{FULL_EVALUATION_COMMAND} runs every table and figure.")
    prov = results.get("provenance")
    if prov:
        rep.text(f"Provenance: profile {results['profile']}, Dagster run {prov['dagster_run_id']}, code commit "
                 f"{prov['git_commit'] or 'unknown'}, written {prov['written_at']} (the profile's sizes and every "
                 f"model's MLflow version, run and coarse input: evaluation.json, key provenance).")
        if prov["models"]:
            rep.table(pd.DataFrame([{"method/experiment": k, "model": v.get("model_uri", ""),
                                     "MLflow run": v.get("mlflow_run_id", ""),
                                     "coarse input": v.get("coarse_input", ""),
                                     "training [s]": rounded(v.get("train_wall_time_s"), 0)}
                                    for k, v in prov["models"].items()]))
    _localization_sections(rep, results, pngs, not_run, not_run_methods)
    _beam_map_section(rep, results, not_run)
    if "fig11_beam_maps_bs1" in pngs:
        rep.heading(FIG11)
        rep.image(pngs["fig11_beam_maps_bs1"], "fig11_beam_maps_bs1")
    elif "table1" in not_run:
        rep.heading(FIG11)
        rep.text(not_run_line("Fig. 11", {"table1": not_run["table1"]}))
    if capacity is not None:
        rep.heading(FIG12)
        cap = capacity.capacity
        snr = cap["perfect_csi"]["snr_db"]
        rep.table(pd.DataFrame([{"method": k, **{f"{s:+.0f} dB {part}": rounded(v[part][i], 2)
                                                 for part in ("los", "nlos") if v[part] is not None
                                                 for i, s in enumerate(snr) if i in (1, len(snr) - 2)}}
                                for k, v in cap.items()]))
        rep.image(pngs["fig12_capacity"], "fig12_capacity")
    elif "table1" in not_run:
        rep.heading(FIG12)
        rep.text(not_run_line("Fig. 12", {"table1": not_run["table1"]}))
    ratios = results["ratios"]
    rep.heading("Ratios that matter (ours beside the paper's)")
    rep.table(pd.DataFrame([{"ratio": k, "ours": rounded(v), "paper": PAPER["ratios"].get(k)}
                            for k, v in ratios.items()]))
    if any(v is None for v in ratios.values()) and (not_run or not_run_methods):
        left_out = {e: f"methods {', '.join(m)} not selected, {FULL_EVALUATION_COMMAND} runs them"
                    for e, m in not_run_methods.items()}
        rep.text(not_run_line("Ratios without our number", {**not_run, **left_out}))
    return rep


def _localization_sections(rep: Report, results: dict, pngs: dict, not_run: dict, not_run_methods: dict) -> None:
    localization = results["localization"]
    for exp in ("table1", "table1_production", "table1_centroid", "table2", "fig6", "table3"):
        if exp not in localization:
            if exp in not_run:
                rep.heading(TITLES[exp])
                rep.text(not_run_line("Fig. 6" if exp == "fig6" else TITLES[exp].split(":")[0], {exp: not_run[exp]}))
            continue
        rep.heading(TITLES[exp])
        rep.table(localization_table(localization[exp], PAPER.get(exp), not_run_methods.get(exp, ())))
        rep.text(FLOOR_NOTE)
        if exp in not_run_methods:
            rep.text(f"Not run in this evaluation: {', '.join(TABLE_NAMES.get(m, m) for m in not_run_methods[exp])} "
                     f"(they train models of their own; {FULL_EVALUATION_COMMAND} runs them).")
        if exp == "table2":
            rep.text(f"Covered: a held-out sample whose true position lies within {COVERAGE_RADIUS_M:g} m of a true "
                     "position of a training trajectory (scoring only; covered share = their fraction).")
        rep.image(pngs[TRAJECTORY_FIGURES[exp]], TRAJECTORY_FIGURES[exp])
    sweep = results.get("fig7_mean_error_m")
    if sweep:
        rep.heading("Fig. 7: localization error against the number of observed beams M")
        rep.image(pngs["fig7_error_vs_m"], "fig7_error_vs_m")
        rep.table(pd.DataFrame([{"scheme": TABLE_NAMES[m], **{f"M = {k} mean [m]": rounded(v.get(str(k)), 2)
                                                              for k in (1, 3, 5)}}
                                for m, v in sweep.items() if v]))
        rep.text(FLOOR_NOTE)
    elif any(e in not_run for e in M_OF):
        rep.heading("Fig. 7: localization error against the number of observed beams M")
        rep.text(not_run_line("Fig. 7", {e: not_run[e] for e in M_OF if e in not_run}))
    shares = results.get("fig10_mean_error_m")
    fig10_not_run = {e: r for e, r in not_run.items() if e.startswith("fig10_")}
    if shares:
        rep.heading(FIG10)
        rep.image(pngs["fig10_error_vs_sample_share"], "fig10_error_vs_sample_share")
        cols = sorted({int(k) for v in shares.values() for k in v})
        rep.table(pd.DataFrame([{"scheme": TABLE_NAMES[m], **{f"{k} % mean [m]": rounded(v.get(str(k)), 2)
                                                              for k in cols}}
                                for m, v in shares.items() if v]))
        rep.text("Each share: the first whole robot trajectories holding that share of the campaign's samples; every "
                 "method learns from them and recovers them. " + FLOOR_NOTE)
    elif fig10_not_run:
        rep.heading(FIG10)
        rep.text(not_run_line("Fig. 10", fig10_not_run))


def _beam_map_section(rep: Report, results: dict, not_run: dict) -> None:
    rows = []
    for exp, m_obs in M_OF.items():
        if exp not in results["beam_map"]:
            continue
        row = {"M": m_obs}
        for m in MAP_METHODS:
            s = results["beam_map"][exp].get(m)
            if m not in PAPER["table4"] and not s:
                continue
            row[f"{TABLE_NAMES[m]} NMSE / RMSE"] = f"{s['nmse']:.4f} / {s['rmse']:.3f}" if s else ""
            if m in PAPER["table4"]:
                p = PAPER["table4"][m].get(m_obs)
                row[f"paper {TABLE_NAMES[m]}"] = f"{p[0]} / {p[1]}" if p else ""
        rows.append(row)
    if rows or any(e in not_run for e in M_OF):
        rep.heading("Table IV: beam-map reconstruction along the uniform trajectory (normalized maps, covered entries)")
        if rows:
            rep.table(pd.DataFrame(rows))
        if any(e in not_run for e in M_OF):
            rep.text(not_run_line(f"Table IV, M = {', '.join(str(M_OF[e]) for e in M_OF if e in not_run)}",
                                  {e: not_run[e] for e in M_OF if e in not_run}))
