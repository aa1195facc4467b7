"""The channel-estimation family (seed 003, issue 13) through Dagster on the smoke profile: the job
``channel_estimation`` once on San Francisco (ray traced complex CSI, the registered estimator, the estimates, the
report). A graph test: it ray traces (this module is in conftest's GRAPH_MODULES)."""

import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.conftest import SITE


@pytest.fixture(scope="module")
def channel_estimation_run(dagster_instance):
    from radiomap_assets.definitions import defs

    t0 = time.perf_counter()
    result = defs.resolve_job_def("channel_estimation").execute_in_process(instance=dagster_instance,
                                                                            partition_key=SITE)
    assert result.success
    print(f"channel_estimation job: {time.perf_counter() - t0:.0f} s")
    return result


def test_csi_stores_open_with_plain_xarray_and_round_trip(channel_estimation_run, radiomap_home):
    from radiomap_assets.domain.csi import open_csi, validate_csi
    from radiomap_assets.profiles import get_profile

    section = get_profile("smoke", SITE).channel_estimation
    for name in ("csi_static_set", "csi_trajectory"):
        stores = channel_estimation_run.output_for_node(name)
        assert sorted(stores) == sorted(section.bs_sides)
        for side, path in stores.items():
            assert Path(path).parent.parent == radiomap_home / "csi" / SITE
            ds = open_csi(path)
            validate_csi(ds)
            assert ds.sizes["bs_antenna"] == side * side and ds.sizes["ue_antenna"] == 4
            assert ds.sizes["subcarrier"] == section.num_subcarriers and ds.sizes["sample"] > 0
            assert np.abs(ds.H.values).reshape(ds.sizes["sample"], -1).max(axis=1).min() > 0  # every user reached
            plain = xr.open_zarr(path, consolidated=True)  # an analyst's read, without the project's code
            H = plain.H.sel(complex="real").values + 1j * plain.H.sel(complex="imag").values
            np.testing.assert_array_equal(H.astype(np.complex64), ds.H.values)
            np.testing.assert_array_equal(plain.x.values, ds.x.values)
    walk = open_csi(channel_estimation_run.output_for_node("csi_trajectory")[section.bs_sides[0]])
    assert (np.diff(walk.t_s.values) > 0).all() and set(walk.trajectory_id.values) == {"walk"}


def test_the_proposed_estimator_beats_least_squares_on_the_trajectory(channel_estimation_run):
    results = channel_estimation_run.output_for_node("channel_estimates")
    for side, r in results.items():
        db = r.nmse_db()
        print(f"smoke channel estimates, BS {side}x{side}:", {m: round(v, 2) for m, v in db.items()})
        assert db["proposed"] < db["ls"], (side, db)
        assert db["proposed_lmmse"] < db["lmmse"] + 1.0, (side, db)  # issue 13: within 1 dB of LMMSE or better
        assert {"ls", "lmmse", "omp", "proposed", "proposed_lmmse", "proposed_no_tc", "end_to_end"} <= set(db)
        assert len(r.latent_distance["proposed"]) == len(r.nmse["ls"])


def test_the_report_exists_with_its_figures(channel_estimation_run, radiomap_home):
    path = Path(channel_estimation_run.output_for_node("channel_estimation_report"))
    assert path == radiomap_home / "reports" / SITE / "channel_estimation.md"
    text = path.read_text()
    images = [line[line.index("(") + 1:-1] for line in text.splitlines() if line.startswith("![")]
    assert any("latent" in i for i in images) and sum("nmse" in i for i in images) == 2
    for image in images:
        assert (path.parent / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| BS array |" in text and "proposed" in text


def test_an_mlflow_model_version_is_registered_and_serves(channel_estimation_run):
    import mlflow

    from models.channel_estimation.experiment import received_pilots_raw
    from models.channel_estimation.persistence import pilots_frame
    from radiomap_assets.assets.channel_estimation import REGISTERED_MODEL
    from radiomap_assets.definitions import defs
    from radiomap_assets.domain.csi import open_csi

    ref = channel_estimation_run.output_for_node("channel_estimator")
    tracker = defs.resources["mlflow_tracker"]
    tracker.activate()
    version = mlflow.MlflowClient().get_model_version(REGISTERED_MODEL, ref["trained_version"])
    assert version.tags["dagster_run_id"] == channel_estimation_run.run_id
    assert ref["promotion"]["decision"] == "champion" and ref["model_version"] == ref["trained_version"]
    assert tracker.alias_version(REGISTERED_MODEL, "champion") == ref["model_version"]
    model = mlflow.pyfunc.load_model(ref["model_uri"])
    ds = open_csi(channel_estimation_run.output_for_node("csi_trajectory")[int(ref["bs_array"].split("x")[0])])
    k = int(np.argmin(np.abs(ds.frequency_offset_hz.values)))
    from radiomap_assets.assets.channel_estimation import section_config
    from radiomap_assets.profiles import get_profile

    config = section_config(get_profile("smoke", SITE).channel_estimation, int(ref["bs_array"].split("x")[0]))
    out = model.predict(pilots_frame(received_pilots_raw(config, ds.H.values[:5, ..., k])))
    assert len(out) == 5 and len(out["h_real"].iloc[0]) == config.num_bs_antennas * config.num_ue_antennas


def test_a_worse_version_becomes_challenger_and_the_champion_keeps_serving(channel_estimation_run):
    """Promotion (as the beam-map family's): a version whose held-out NMSE is worse than the champion's is
    registered as challenger; the champion alias does not move."""
    import copy
    import tempfile

    import torch
    from dagster import build_asset_context

    from models.channel_estimation.experiment import validation_split
    from models.channel_estimation.persistence import ChannelEstimatorPyfuncModel, save_estimator
    from radiomap_assets.assets.channel_estimation import (REGISTERED_MODEL, _centre_subcarrier, load_version,
                                                           promote_estimator)
    from radiomap_assets.definitions import defs

    ref = channel_estimation_run.output_for_node("channel_estimator")
    tracker = defs.resources["mlflow_tracker"]
    champion = load_version(ref["tracking_uri"], ref["model_uri"])
    worse = copy.deepcopy(champion)
    with torch.no_grad():
        for p in worse.tracker.parameters():
            p.mul_(0.0)  # a tracker that has learned nothing
    with tempfile.TemporaryDirectory() as tmp, tracker.run("worse", {"test": "promotion"}) as tracked:
        registered = tracked.register_pyfunc_model(ChannelEstimatorPyfuncModel(), save_estimator(worse, Path(tmp)),
                                                   REGISTERED_MODEL, version_tags={"test": "promotion"},
                                                   pip_requirements=["torch"])
    H, pos = _centre_subcarrier(channel_estimation_run.output_for_node("csi_static_set")[
        int(ref["bs_array"].split("x")[0])])
    _, val = validation_split(len(H))
    decision = promote_estimator(build_asset_context(), tracker, worse, registered.model_version, H[val], pos[val])
    assert decision["decision"] == "challenger", decision
    assert decision["candidate_validation_nmse_db"] > decision["champion_validation_nmse_db"]
    assert tracker.alias_version(REGISTERED_MODEL, "champion") == ref["model_version"]
    assert tracker.alias_version(REGISTERED_MODEL, "challenger") == registered.model_version


def test_a_landed_measured_csi_campaign_is_estimated_by_the_champion(channel_estimation_run, dagster_instance,
                                                                     radiomap_home):
    """The landing path for measured complex CSI end to end: a store renamed into landing_csi/ is found by the
    sensor, accepted under csi/<site>/measured/ and estimated by the champion, which beats LS on it."""
    from dagster import build_sensor_context

    from radiomap_assets.definitions import defs
    from radiomap_assets.domain.csi import open_csi, write_csi
    from radiomap_assets.sensors import csi_landing_sensor

    ref = channel_estimation_run.output_for_node("channel_estimator")
    walk = open_csi(channel_estimation_run.output_for_node("csi_trajectory")[int(ref["bs_array"].split("x")[0])])
    write_csi(walk.assign_attrs(source="measured"), radiomap_home / "landing_csi" / "sf-measured-walk.zarr")
    tick = csi_landing_sensor(build_sensor_context(instance=dagster_instance,
                                                   resources={"landing_zone": defs.resources["landing_zone"]}))
    assert [r.partition_key for r in tick.run_requests] == ["sf-measured-walk"]
    dagster_instance.add_dynamic_partitions("csi_campaigns", ["sf-measured-walk"])
    result = defs.resolve_job_def("land_measured_csi").execute_in_process(instance=dagster_instance,
                                                                     partition_key="sf-measured-walk")
    assert result.success
    assert Path(result.output_for_node("measured_csi")) == (radiomap_home / "csi" / SITE / "measured" /
                                                            "sf-measured-walk.zarr")
    df = result.output_for_node("measured_channel_estimates")
    assert len(df) == walk.sizes["sample"]
    db = {m: 10 * np.log10(df[f"nmse_{m}"].mean()) for m in ("ls", "omp", "proposed")}
    print("measured walk, champion:", db)
    assert db["proposed"] < db["ls"] - 3.0
