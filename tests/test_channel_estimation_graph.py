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
        assert db["proposed"] < db["ls"], (side, db)
        assert {"ls", "lmmse", "omp", "proposed", "proposed_no_tc", "end_to_end"} <= set(db)
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
    version = mlflow.MlflowClient().get_model_version(REGISTERED_MODEL, ref["model_version"])
    assert version.tags["dagster_run_id"] == channel_estimation_run.run_id
    model = mlflow.pyfunc.load_model(ref["model_uri"])
    ds = open_csi(channel_estimation_run.output_for_node("csi_trajectory")[int(ref["bs_array"].split("x")[0])])
    k = int(np.argmin(np.abs(ds.frequency_offset_hz.values)))
    from radiomap_assets.assets.channel_estimation import section_config
    from radiomap_assets.profiles import get_profile

    config = section_config(get_profile("smoke", SITE).channel_estimation, int(ref["bs_array"].split("x")[0]))
    out = model.predict(pilots_frame(received_pilots_raw(config, ds.H.values[:5, ..., k])))
    assert len(out) == 5 and len(out["h_real"].iloc[0]) == config.num_bs_antennas * config.num_ue_antennas
