"""Sites as partitions (issue 12): the generated indoor hall ray traces with coverage over its L-shaped area, its
campaigns declare their site and its 2-D codebook, and nothing of one site touches another site's outputs."""

import json

import numpy as np
import pytest

from tests.conftest import SITE

HALL = "indoor_hall"


@pytest.fixture(scope="session")
def simulated_hall(simulated_site, dagster_instance):
    """The indoor hall's partition of the simulation job (after San Francisco's), with San Francisco's ground-truth
    catalogue before it ran."""
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.definitions import defs

    store = defs.resources["beam_map_store"]
    sf_before = store.catalogue(ground_truth_map_name(SITE))
    result = defs.resolve_job_def("simulate_site").execute_in_process(instance=dagster_instance, partition_key=HALL)
    assert result.success
    return result, sf_before


def test_the_generated_hall_traces_with_coverage_over_its_l_shaped_area(simulated_hall):
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.definitions import defs

    result, _ = simulated_hall
    ds = defs.resources["beam_map_store"].open_latest(ground_truth_map_name(HALL), holes_at_noise_floor=False)
    assert ds.attrs["site"] == HALL and ds.attrs["codebook"] == "dft_2d"
    assert dict(ds.sizes) == {"bs": 4, "beam": 8, "y": ds.sizes["y"], "x": ds.sizes["x"]}
    cell_m2 = float(np.diff(ds.x.values[:2])[0]) ** 2
    assert ds.valid.values.sum() * cell_m2 == pytest.approx(160.0)  # the L: 20 m x 5 m + 5 m x 12 m
    covered = ds.covered.values.any(axis=1)[:, ds.valid.values].mean(axis=1)
    assert (covered >= 0.95).all(), covered  # issue 12: at least 95 % of walkable cells per base station
    np.testing.assert_allclose(np.unique(ds.beam_elevation_deg.values), [-30.0, 30.0])  # 2 rows: +-30 degrees
    los = ds.los.values[:, ds.valid.values].mean(axis=1)
    assert ((los > 0.05) & (los < 1.0)).all(), los  # mostly line of sight, machines and shelving block some
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["ground_truth_coverage"] and checks["base_stations_see_los_and_nlos"]
    assert checks["simulated_campaigns_follow_contract"]


def test_hall_campaigns_declare_their_site_and_2d_codebook(simulated_hall):
    from radiomap_assets.definitions import defs
    from radiomap_assets.domain import campaign as contract

    zone = defs.resources["landing_zone"]
    folders = [p for root in (zone.landing_path, zone.accepted_path) for p in root.glob("indoor-hall-*")]
    assert folders
    for folder in folders:
        manifest = json.loads((folder / contract.MANIFEST).read_text())
        assert manifest["site"] == HALL
        assert manifest["codebook"] == {"type": "dft_2d", "num_beams": 8, "array_rows": 2, "array_cols": 4,
                                        "beams_vertical": 2, "beams_horizontal": 4}
        assert all(b["num_antennas"] == 8 for b in manifest["base_stations"])
        camp = contract.load_campaign(folder)
        gt = contract.read_ground_truth(camp)
        speed = np.hypot(*np.diff(gt[["x_m", "y_m"]].to_numpy()[:50], axis=0).T) * manifest["measurement_rate_hz"]
        assert np.median(speed) == pytest.approx(0.5, rel=0.05)  # the robot's 0.5 m/s


def test_a_site_never_touches_another_sites_outputs(simulated_hall, ingested_campaigns, dagster_instance):
    """The hall's simulation leaves San Francisco's ground truth (its latest and its catalogue) as it was, and the
    hall's model refuses to train on a San Francisco campaign."""
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.definitions import defs

    _, sf_before = simulated_hall
    store = defs.resources["beam_map_store"]
    sf_after = store.catalogue(ground_truth_map_name(SITE))
    assert sf_after.equals(sf_before)
    assert store.open_latest(ground_truth_map_name(SITE)).attrs["site"] == SITE
    sf_campaign = next(c for c in ingested_campaigns if c.startswith("san-francisco-"))
    cfg = {"ops": {"beam_map_model": {"config": {"campaigns": [sf_campaign], "max_steps": 1}}}}
    with pytest.raises(ValueError, match="belong to another site than 'indoor_hall'"):
        defs.resolve_job_def("train_model").execute_in_process(instance=dagster_instance, partition_key=HALL,
                                                               run_config=cfg)


@pytest.fixture(scope="module")
def hall_headline(simulated_hall, dagster_instance, radiomap_home):
    """The hall's campaigns picked up and ingested (the sensor's logic), their paper-protocol coarse input, and the
    hall's headline evaluation (job evaluate_headline on the hall's partition, what `make demo` runs: Table III)."""
    from radiomap_assets.assets.shared import campaign_partitions
    from radiomap_assets.definitions import defs
    from radiomap_assets.sensors import landing_zone_tick

    known = set(dagster_instance.get_dynamic_partitions(campaign_partitions.name))
    tick = landing_zone_tick(defs.resources["landing_zone"], None, known)
    hall = [c for c in tick.new if c.startswith("indoor-hall-")]
    dagster_instance.add_dynamic_partitions(campaign_partitions.name, hall)
    for cid in hall + [c for c in known if c.startswith("indoor-hall-")]:
        for job in ("ingest_campaign", "paper_protocol"):
            assert defs.resolve_job_def(job).execute_in_process(instance=dagster_instance, partition_key=cid).success
    # the model group (the evaluation reads its grid and its version; Table III trains its own model, so a short one)
    cfg = {"ops": {"beam_map_model": {"config": {"max_steps": 20}}}}
    assert defs.resolve_job_def("train_model").execute_in_process(instance=dagster_instance, partition_key=HALL,
                                                                  run_config=cfg).success
    result = defs.resolve_job_def("evaluate_headline").execute_in_process(instance=dagster_instance,
                                                                          partition_key=HALL)
    assert result.success
    return json.loads((radiomap_home / "reports" / HALL / "evaluation.json").read_text()), result


def test_table3_on_the_hall_has_its_floors_and_the_variants_beat_the_coarse_input(hall_headline):
    """Table III (section IV-C) in the headline: floors first, the SKF, the charts, the faithful model and the three
    declared variants; every learned row recovers the robot's walks better than the coarse input it was given, and the
    variant that fuses the smoothed-target model with the tracking prior is at least as good as the smoothed model."""
    results, _ = hall_headline
    assert set(results["localization"]) == {"table3"}
    t3 = results["localization"]["table3"]
    assert list(t3)[:6] == ["coarse input", "coarse_ma_1s", "coarse_ma_10s", "cv_smoother", "skf_causal", "skf"]
    assert {"semi_cc_noisy", "real_world_cc", "proposed", "proposed_smoothed", "proposed_tracked",
            "proposed_smoothed_tracked"} <= set(t3)
    coarse = t3["coarse input"]["mean_error_m"]
    for m in ("proposed", "proposed_smoothed", "proposed_tracked", "proposed_smoothed_tracked"):
        assert t3[m]["mean_error_m"] < 0.5 * coarse, (m, t3[m]["mean_error_m"], coarse)
    assert t3["proposed_smoothed_tracked"]["mean_error_m"] <= 1.05 * t3["proposed_smoothed"]["mean_error_m"]
    assert results["ratios"]["table3_proposed_smoothed_tracked_over_skf_mean_error"] is not None


def test_the_model_takes_its_beam_dimension_from_the_sites_codebook():
    """One feature-extractor token per base station holds that base station's beams (issue 14: the beam dimension of
    every model comes from the codebook): the hall's 4 transmitters x 8 beams are 4 tokens, the city's 5 x 16 five."""
    from radiomap_assets.assets.model_registry import profile_model_config
    from radiomap_assets.profiles import get_profile

    hall = profile_model_config(get_profile("smoke", site=HALL), 32)
    city = profile_model_config(get_profile("smoke", site=SITE), 80)
    assert (hall.beams_per_bs, city.beams_per_bs) == (8, 16)
    with pytest.raises(ValueError, match="not a whole number of base stations"):
        profile_model_config(get_profile("smoke", site=HALL), 36)
