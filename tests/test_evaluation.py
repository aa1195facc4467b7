"""Issue 4: metrics on hand-computed cases, the capacity model, and the whole evaluation (every baseline, every
experiment, the report) run on the smoke profile; issue 10: the headline evaluation of `make demo` after it."""

import json
from pathlib import Path

import numpy as np
import pytest

from radiomap_assets.domain.metrics import (beam_tracking_capacity, capacity_bits_per_hz, localization_summary,
                                            trustworthiness_continuity)
from tests.conftest import SITE

METHOD_KEYS = {"skf", "semi_cc_gt", "semi_cc_noisy", "real_world_cc", "cam", "lstm", "proposed"}


def test_trustworthiness_and_continuity_on_a_hand_computed_swap():
    # six points on a line; the estimate swaps the first two. With k = 1 only point 2 changes its nearest
    # neighbour (1 -> 0): TW penalizes the intruder 0 by its true rank from 2 (3) minus k, CT the missing 1 by its
    # estimated rank (3) minus k, and gamma = 2 / (L k (2L - 3k - 1)) = 2 / 48, so both are 1 - 2 * 2 / 48 = 11/12.
    true = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0]], float)
    est = true[[1, 0, 2, 3, 4, 5]]
    s = trustworthiness_continuity(true, est, k=1)
    assert s["trustworthiness"] == pytest.approx(11 / 12)
    assert s["continuity"] == pytest.approx(11 / 12)
    # a rigid motion and a scaling keep every neighbourhood: both are exactly 1
    s = trustworthiness_continuity(true, 3 * true[:, ::-1] + 7, k=1)
    assert s["trustworthiness"] == 1.0 and s["continuity"] == 1.0
    with pytest.raises(ValueError, match="k="):
        trustworthiness_continuity(true, est, k=3)


def test_trustworthiness_matches_the_standard_definition():
    sklearn_manifold = pytest.importorskip("sklearn.manifold")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x + rng.normal(size=x.shape) * 0.3
    s = trustworthiness_continuity(x, y, k=10)
    assert s["trustworthiness"] == pytest.approx(sklearn_manifold.trustworthiness(x, y, n_neighbors=10))
    assert s["continuity"] == pytest.approx(sklearn_manifold.trustworthiness(y, x, n_neighbors=10))


def test_localization_summary_mean_and_95th_percentile():
    truth = np.zeros((20, 2))
    est = np.stack([np.arange(1, 21, dtype=float), np.zeros(20)], axis=1)  # errors 1..20 m
    s = localization_summary(est, truth)
    assert s["mean_error_m"] == pytest.approx(10.5)
    assert s["p95_error_m"] == pytest.approx(np.percentile(np.arange(1, 21), 95))


def test_capacity_uses_the_chosen_beam_of_the_true_channel():
    assert capacity_bits_per_hz(np.array([1.0]), 0.0, 1.0)[0] == pytest.approx(1.0)  # log2(1 + 1)
    assert capacity_bits_per_hz(np.array([0.5]), 10 * np.log10(6), 1.0)[0] == pytest.approx(2.0)  # log2(1 + 3)
    # two samples, one base station, two beams: 0 dBm and -10 dBm (1 mW and 0.1 mW)
    power_dbm = np.array([[[0.0, -10.0]], [[-10.0, 0.0]]])
    serving = np.array([0, 0])
    best = beam_tracking_capacity(power_dbm, serving, np.array([0, 1]), np.array([0.0]))
    wrong = beam_tracking_capacity(power_dbm, serving, np.array([1, 0]), np.array([0.0]))
    assert best[0] == pytest.approx([1.0, 1.0])  # reference = mean best power = 1 mW, SNR 0 dB
    assert wrong[0] == pytest.approx(np.log2(1.1))
    with pytest.raises(ValueError):
        capacity_bits_per_hz(np.array([1.0]), 0.0, 0.0)


def test_cam_sounding_finds_the_best_beam_at_high_snr_and_errs_at_low_snr():
    from models.baselines.cam import cam_beam_choice, sounded_beams

    assert sounded_beams(np.array([0, 15]), 16, 4).tolist() == [[15, 0, 1, 2], [14, 15, 0, 1]]  # circular
    rng = np.random.default_rng(0)
    power_mw = rng.uniform(0.01, 1.0, size=(2000, 1, 16))
    best = power_mw[:, 0].argmax(axis=1)
    serving = np.zeros(2000, int)
    high = cam_beam_choice(power_mw, serving, best, 8, 40.0, 1.0, rng)
    low = cam_beam_choice(power_mw, serving, best, 8, -15.0, 1.0, rng)
    share = lambda chosen: (power_mw[np.arange(2000), 0, chosen] / power_mw[np.arange(2000), 0, best]).mean()  # noqa: E731
    assert share(high) > 0.98  # clean pilots: the served beam is (nearly) the best one
    assert share(low) < 0.8  # pilots in noise: wrong beams, the capacity loss CAM has at low SNR


def test_a_method_reads_its_beam_map_at_its_own_cells_and_serves_the_strongest_beam():
    from radiomap_assets.experiments import beam_from_map, los_to_nlos_window, map_at_cells

    centres = np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0], [100.0, 0.0]])
    map_cells = np.array([0, 2])  # the method decoded cells 0 and 2 only
    map_g = np.array([[0.1, 0.9, 0.5, 0.2], [0.7, 0.3, 0.1, 0.8]])  # 2 base stations x 2 beams
    rows = map_at_cells(map_cells, map_g, np.array([0, 1, 3, 2]), centres)
    assert rows.tolist() == [map_g[0].tolist(), map_g[0].tolist(), map_g[1].tolist(), map_g[1].tolist()]
    # serving base station 0 at the first two samples, 1 at the last two
    assert beam_from_map(rows, np.array([0, 0, 1, 1]), 2).tolist() == [1, 1, 1, 1]
    assert beam_from_map(rows, np.array([1, 1, 0, 0]), 2).tolist() == [0, 0, 0, 0]
    # a short NLOS blip, then the real LOS -> NLOS transition at sample 52: the window is centred on the latter
    los = np.array([True] * 10 + [False] * 3 + [True] * 40 + [False] * 40)
    assert los_to_nlos_window(los, half_width=20) == (32, 72)


@pytest.fixture(scope="module")
def evaluation(request, trained_model, ingested_campaigns, dagster_instance, radiomap_home):
    """The paper's coarse input (evaluation asset) for every simulated smoke campaign, a generated beam map, then the
    evaluate job. Before the protocol exists, experiment_campaigns refuses to run and names what to run."""
    from dagster import AssetKey

    from radiomap_assets.definitions import defs
    from radiomap_assets.storage import materialized_campaigns

    evaluate = defs.resolve_job_def("evaluate")
    if not materialized_campaigns(dagster_instance, "paper_protocol_coarse_locations"):
        early = evaluate.execute_in_process(instance=dagster_instance, raise_on_error=False, partition_key=SITE,
                                            asset_selection=[AssetKey("experiment_campaigns")])
        assert not early.success
        message = next(e for e in early.all_events if e.is_step_failure).step_failure_data.error.to_string()
        assert "paper_protocol_coarse_locations" in message and "paper_protocol" in message, message
    assert all(r.success for r in request.getfixturevalue("paper_protocol_inputs").values())
    assert defs.resolve_job_def("generate_beam_map").execute_in_process(
        instance=dagster_instance, partition_key=SITE,
        run_config={"ops": {"beam_maps": {"config": {"samples_per_cell": 2}}}}).success
    result = evaluate.execute_in_process(instance=dagster_instance, partition_key=SITE)
    assert result.success
    report = result.output_for_node("evaluation_report")
    return report, json.loads((radiomap_home / "reports" / SITE / "evaluation.json").read_text()), result


def test_evaluation_json_has_every_method_and_experiment(evaluation):
    report, results, _ = evaluation
    assert METHOD_KEYS <= set(results["methods"])
    assert set(results["localization"]) == {"table1", "table1_production", "table1_centroid", "fig6", "m1", "m5",
                                            "table2"}
    floors = {"coarse_ma_1s", "coarse_ma_10s", "cv_smoother", "skf_causal", "skf"}  # rows of every table
    assert set(results["localization"]["table1"]) == {"coarse input", *floors, "semi_cc_gt", "semi_cc_noisy",
                                                      "real_world_cc", "proposed", "proposed_smoothed",
                                                      "proposed_tracked", "proposed_smoothed_tracked"}
    assert set(results["localization"]["table2"]) == {"coarse input", *floors, "semi_cc_gt", "lstm", "proposed",
                                                      "proposed_tracked"}
    for exp, scores in results["localization"].items():
        assert list(scores)[:6] == ["coarse input", "coarse_ma_1s", "coarse_ma_10s", "cv_smoother", "skf_causal",
                                    "skf"]  # the floors come right after the coarse input
        for f in floors:
            assert {"mean_error_m", "p95_error_m", "trustworthiness", "continuity"} <= set(scores[f]), (exp, f)
    for scores in results["localization"]["table2"].values():  # held-out samples covered by training or not
        assert {"covered_mean_error_m", "uncovered_mean_error_m", "covered_share"} <= set(scores)
        assert 0.0 <= scores["covered_share"] <= 1.0
    for scores in results["localization"]["table1"].values():
        assert 0.0 < scores["trustworthiness"] <= 1.0 and 0.0 < scores["continuity"] <= 1.0
        assert np.isfinite(scores["mean_error_m"]) and scores["p95_error_m"] >= scores["mean_error_m"] * 0.5
    centroid = results["localization"]["table1_centroid"]  # the geometric locator runs on the centroid input
    assert np.isfinite(centroid["geometric_locator"]["mean_error_m"])
    # the site map and the arrays' physics beat every floor of the paper's label-free input (smoke, 2026-11-28:
    # 13.2 m against the best floor's 70.3 m), and the production pipeline (the model trained on the geometric
    # input) keeps that margin
    assert results["ratios"]["table1_centroid_geometric_locator_over_best_floor_mean_error"] < 0.5
    assert results["ratios"]["table1_production_proposed_over_centroid_best_floor_mean_error"] < 0.5
    prov = results["provenance"]  # issue 15: where the numbers came from
    assert prov["dagster_run_id"] and prov["profile"]["name"] == "smoke" and results["profile"] == "smoke"
    assert prov["models"]["proposed/table1"]["model_uri"].startswith("models:/")
    assert prov["models"]["proposed/table1"]["coarse_input"] == "paper_protocol_coarse_locations"
    assert "Provenance: profile smoke" in Path(report["path"]).with_suffix(".md").read_text()
    for exp in ("m1", "table1", "m5"):  # Table IV for every map-building method, the tracked variant's map too
        for m in ("skf", "proposed", "proposed_tracked"):
            assert 0.0 < results["beam_map"][exp][m]["nmse"] < 1.0
    assert set(results["capacity"]) == {"perfect_csi", "proposed", "proposed_tracked", "skf", "cam"}
    assert set(results["ratios"]) >= {"table1_proposed_over_skf_mean_error", "table2_proposed_over_lstm_mean_error",
                                      "table4_m1_proposed_over_skf_nmse", "table4_m1_proposed_tracked_over_skf_nmse",
                                      "fig12_los_capacity_share_of_perfect_proposed_tracked"}
    assert results["not_run"] == {"experiments": {}, "methods": {}, "command": "make paper"}  # the full evaluation


def test_label_free_methods_improve_on_their_coarse_input(evaluation):
    _, results, _ = evaluation
    t1 = results["localization"]["table1"]
    coarse = t1["coarse input"]["mean_error_m"]
    assert t1["proposed"]["mean_error_m"] < 0.8 * coarse
    assert t1["skf"]["mean_error_m"] < coarse
    # issue 10: the proposed model beats the 1 s moving average of its own input and the causal SKF (smoke,
    # 2026-11-27: 3.5 m against 11.1 m and 6.3 m)
    assert t1["proposed"]["mean_error_m"] < t1["coarse_ma_1s"]["mean_error_m"]
    assert t1["proposed"]["mean_error_m"] < t1["skf_causal"]["mean_error_m"]
    # the tracking prior never does much worse than the coarse-only smoother it starts from
    assert t1["proposed_tracked"]["mean_error_m"] < 2.0 * t1["cv_smoother"]["mean_error_m"] + 1.0


def test_each_experiment_gets_its_declared_coarse_input_and_the_model_group_serves_the_production_one(
        evaluation, trained_model):
    from radiomap_assets.experiments import COARSE_ASSET

    _, results, result = evaluation
    campaigns = result.output_for_node("experiment_campaigns")
    assert campaigns["coarse_asset"] == {e: COARSE_ASSET[e] for e in campaigns["experiments"]}
    assert campaigns["coarse_method"]["table1"] == "paper_noisy_ground_truth"
    assert campaigns["coarse_method"]["table1_production"] == "geometric"
    assert campaigns["coarse_method"]["table1_centroid"] == "weighted_centroid"
    assert campaigns["experiments"]["table1"] == campaigns["experiments"]["table1_production"] == trained_model[0]
    # same campaign, three coarse inputs: the production one is label-free (its own error), not the protocol
    loc = results["localization"]
    assert {"coarse input", "skf", "proposed"} <= set(loc["table1_production"])
    assert loc["table1_production"]["coarse input"]["mean_error_m"] != loc["table1"]["coarse input"]["mean_error_m"]
    # the model group's model (trained on production coarse_locations) is reused for table1_production only
    ref = trained_model[1].output_for_node("beam_map_model")
    proposed = result.output_for_node("proposed_method")
    assert proposed["table1_production"].model_uri == ref.model_uri
    assert proposed["table1_production"].reused_model_group_version
    assert proposed["table1"].model_uri != ref.model_uri
    assert proposed["table1"].coarse_asset == "paper_protocol_coarse_locations"


def test_perfect_csi_bounds_every_beam_choice(evaluation):
    _, results, _ = evaluation
    cap = results["capacity"]
    for name in ("proposed", "skf", "cam"):
        for part in ("los", "nlos", "all"):
            if cap[name][part] is not None:
                assert np.all(np.array(cap[name][part]) <= np.array(cap["perfect_csi"][part]) + 1e-9)


def test_report_is_written_as_markdown_and_html_and_logged_to_mlflow(evaluation, radiomap_home):
    import mlflow

    report, results, result = evaluation
    md = (radiomap_home / "reports" / SITE / "evaluation.md").read_text()
    page = (radiomap_home / "reports" / SITE / "evaluation.html").read_text()
    for text in ("Table I", "Table II", "Table IV", "Fig. 7", "Fig. 11", "Fig. 12"):
        assert text in md and text in page
    assert page.count("data:image/png;base64,") >= 5
    for line in md.splitlines():
        if line.startswith("!["):
            assert (radiomap_home / "reports" / SITE / line.split("(")[1].rstrip(")")).exists()
    run = mlflow.get_run(report["mlflow_run_id"])
    assert run.data.metrics["table1.proposed.mean_error_m"] == pytest.approx(
        results["localization"]["table1"]["proposed"]["mean_error_m"])
    md_meta = result.asset_materializations_for_node("evaluation_report")[0].metadata
    assert "table1" in md_meta and "report_html" in md_meta


@pytest.fixture(scope="module")
def headline(evaluation, dagster_instance, radiomap_home):
    """The headline evaluation (job evaluate_headline, what `make demo` runs) after the full one: its models resume
    from the full run's checkpoints (same configuration and data), so it trains nothing new; and the full run's
    results of the experiments and methods it leaves out are there to be (wrongly) shown."""
    from radiomap_assets.definitions import defs

    result = defs.resolve_job_def("evaluate_headline").execute_in_process(instance=dagster_instance,
                                                                          partition_key=SITE)
    assert result.success
    md = (radiomap_home / "reports" / SITE / "evaluation.md").read_text()
    sections = {part.split("\n", 1)[0]: part for part in md.split("\n## ")[1:]}  # heading -> its text
    return json.loads((radiomap_home / "reports" / SITE / "evaluation.json").read_text()), sections, result


def test_headline_evaluation_runs_table1_with_floors_and_marks_the_rest_as_not_run(headline):
    from radiomap_assets.experiments import HEADLINE_METHODS

    results, sections, result = headline
    assert result.output_for_node("experiment_campaigns")["methods"] == list(HEADLINE_METHODS)  # the job's config
    floors = ["coarse_ma_1s", "coarse_ma_10s", "cv_smoother", "skf_causal", "skf"]
    assert set(results["localization"]) == {"table1", "table1_production", "table1_centroid"}
    for exp in ("table1", "table1_production"):  # Table I on both inputs: floors first, then the model and variants
        assert list(results["localization"][exp]) == ["coarse input", *floors, "proposed", "proposed_tracked"], exp
    # on the paper's label-free input (the weighted centroid): its floors and the geometric locator production runs
    assert list(results["localization"]["table1_centroid"]) == ["coarse input", *floors, "geometric_locator"]
    for scores in (s for exp in results["localization"].values() for s in exp.values()):
        assert np.isfinite(scores["mean_error_m"])
    # Fig. 12 and Table IV at M = 3 are on Table I's walk: cheap, the tracked variant's map included
    assert set(results["capacity"]) == {"perfect_csi", "proposed", "proposed_tracked", "skf", "cam"}
    assert "m1" not in results["beam_map"] and {"proposed", "proposed_tracked"} <= set(results["beam_map"]["table1"])
    # what was not run is said, with the command that runs it, and no stale number of the full run shows
    assert set(results["not_run"]["experiments"]) == {"fig6", "m1", "m5", "table2"}
    assert all("make paper" in why for why in results["not_run"]["experiments"].values())
    assert results["not_run"]["methods"] == {"table1": ["semi_cc_gt", "semi_cc_noisy", "real_world_cc",
                                                        "proposed_smoothed", "proposed_smoothed_tracked"],
                                             "table1_production": ["proposed_smoothed", "proposed_smoothed_tracked"]}
    for asset in ("semi_cc_gt_baseline", "semi_cc_noisy_baseline", "real_world_cc_baseline", "lstm_baseline"):
        assert result.output_for_node(asset) == {}, asset
    assert results["ratios"]["table2_proposed_over_lstm_mean_error"] is None
    assert results["ratios"]["table1_proposed_over_skf_mean_error"] is not None
    for heading in ("Table II", "Complex trajectory", "Fig. 7", "Table IV", "Ratios that matter"):
        text = next(t for h, t in sections.items() if h.startswith(heading))
        assert "not run in this evaluation" in text and "make paper" in text, heading
    table1 = next(t for h, t in sections.items() if h.startswith("Table I:"))
    assert "Semi-CC-GT: not run (make paper)" in table1 and "coarse MA 1 s (floor)" in table1


@pytest.mark.parametrize("profile, exp, configured, expected", [
    ("default", "table1", None, 800), ("default", "fig6", None, 800), ("default", "table2", None, 1600),
    ("default", "table2", 50, 50), ("smoke", "table1", None, 300), ("smoke", "table2", None, 100),
    ("paper", "table2", None, 40000),
])
def test_each_experiment_trains_its_models_for_its_profiles_budget(profile, exp, configured, expected):
    """Table II's models see about 50x Table I's samples over an area: twice the profile's steps; the evaluation's
    explicit model_steps (experiment_campaigns' config) wins; smoke's side experiments only check the plumbing."""
    from radiomap_assets.assets.experiment_inputs import experiment_model_steps
    from radiomap_assets.profiles import get_profile

    assert experiment_model_steps(get_profile(profile), exp, configured, num_entries=80) == expected
