"""The report's scoring and rendering on hand-made runs (unit tier: no ray tracing, no Dagster): every method of
an experiment is scored against the truth, the floors come first, what was not run is said where it would stand."""

import numpy as np

from models.beam_map.training import TrajectoryData
from radiomap_assets.evaluation import rendering, scoring
from radiomap_assets.experiments import FLOORS, CampaignTruth, MethodRun


def _walk(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.1
    truth = np.stack([t, 0.5 * t], axis=1) * 10.0
    coarse = truth + rng.normal(0, 20.0, truth.shape)
    g = rng.random((n, 8)).astype(np.float32)
    data = TrajectoryData("w0", g, np.ones_like(g, dtype=bool), t, coarse)
    return data, CampaignTruth([truth], [np.ones((n, 2), bool)]), truth


def test_scoring_ranks_methods_against_the_truth_and_the_report_marks_what_was_not_run():
    data, truth, xy = _walk()
    floor_runs = {"table1": {f: MethodRun([xy + 5.0], 0.1) for f in FLOORS if f not in ("skf", "skf_causal")}}
    skf = {"table1": MethodRun([xy + 3.0], 0.2, causal=MethodRun([xy + 4.0], 0.1))}
    runs = scoring.method_runs({"skf": skf, "proposed": {"table1": MethodRun([xy + 1.0], 1.0)},
                                "semi_cc_gt": {}, "semi_cc_noisy": {}, "real_world_cc": {}, "lstm": {},
                                "proposed_smoothed": {}, "proposed_tracked": {}, "proposed_smoothed_tracked": {}},
                               floor_runs, skf)
    experiments = {"table1": "site-uniform-x"}
    not_run_methods = scoring.methods_not_run(experiments, runs)
    assert "semi_cc_gt" in not_run_methods["table1"] and "proposed" not in not_run_methods["table1"]
    results = scoring.new_results("smoke", experiments, {"table2": "not selected"}, not_run_methods)
    results["localization"] = scoring.score_localization(runs, {"table1": [data]}, {"table1": truth}, {})
    scoring.summarize(results, runs, {})
    table1 = results["localization"]["table1"]
    assert list(table1)[:1 + len(FLOORS)] == ["coarse input", *FLOORS]  # coarse input, floors, then the methods
    assert abs(table1["proposed"]["mean_error_m"] - np.sqrt(2.0)) < 1e-9  # offset (1, 1) m
    assert table1["proposed"]["mean_error_m"] < table1["skf"]["mean_error_m"] < table1["coarse input"]["mean_error_m"]
    assert results["methods"]["proposed"]["table1"]["mean_error_m"] == table1["proposed"]["mean_error_m"]
    assert scoring.flat_metrics(results)["table1.proposed.mean_error_m"] == table1["proposed"]["mean_error_m"]

    pngs = rendering.trajectory_figures(runs, {"table1": [data]}, {"table1": truth})
    assert set(pngs) == {"fig5_uniform_trajectory"} and pngs["fig5_uniform_trajectory"][:4] == b"\x89PNG"
    rep = rendering.render(results, pngs, "test report", {"table2": "not selected"}, not_run_methods,
                           {"paper_protocol"}, None)
    md, page = rep.markdown(), rep.html()
    assert "Table I: uniform trajectory" in md and "Proposed" in md and "CV smoother (floor)" in md
    assert "Semi-CC-GT: not run" in md  # a row of the table, marked
    assert "Table II" in md and "not run in this evaluation (table2: not selected)" in md
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page
