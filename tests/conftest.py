"""Test session setup: the smoke profile, a throw-away RADIOMAP_HOME, and one shared ray-traced smoke site."""

import os
import tempfile
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="radiomap-test-"))
os.environ["RADIOMAP_PROFILE"] = "smoke"
os.environ["RADIOMAP_HOME"] = str(_HOME)
os.environ["DAGSTER_HOME"] = str(_HOME / "dagster_home")
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
os.environ["MPLBACKEND"] = "Agg"
SITE = "san_francisco"  # the graph tests' site (its smoke crop); the indoor hall has tests of its own


@pytest.fixture(scope="session")
def radiomap_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def dagster_instance(radiomap_home):
    from dagster import DagsterInstance

    from radiomap_assets import env_setup

    env_setup.configure()
    return DagsterInstance.get()


@pytest.fixture(scope="session")
def simulated_site(dagster_instance):
    """The smoke site materialized once through the simulation job: ground-truth beam map + landed campaigns."""
    from radiomap_assets.definitions import defs

    result = defs.resolve_job_def("simulate_site").execute_in_process(instance=dagster_instance, partition_key=SITE)
    assert result.success
    return result


@pytest.fixture(scope="session")
def ground_truth_path(simulated_site):
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.definitions import defs

    return defs.resources["beam_map_store"].latest(ground_truth_map_name(SITE))


@pytest.fixture(scope="session")
def ingested_campaigns(simulated_site, dagster_instance):
    """Every landed smoke campaign picked up (the sensor's logic) and ingested once: {campaign_id: run result}."""
    from radiomap_assets.assets.shared import campaign_partitions
    from radiomap_assets.definitions import defs
    from radiomap_assets.sensors import landing_zone_tick

    tick = landing_zone_tick(defs.resources["landing_zone"], None,
                             set(dagster_instance.get_dynamic_partitions(campaign_partitions.name)))
    new = tick.new
    assert not tick.quarantined and not tick.unreadable
    dagster_instance.add_dynamic_partitions(campaign_partitions.name, new)
    job = defs.resolve_job_def("ingest_campaign")
    return {cid: job.execute_in_process(instance=dagster_instance, partition_key=cid) for cid in new}


@pytest.fixture(scope="session")
def trained_model(ingested_campaigns, dagster_instance):
    """The smoke model trained on the uniform campaign with its production coarse input (the label-free weighted
    centroid of coarse_locations), through the train_model job; returns (campaign id, job result)."""
    from radiomap_assets.definitions import defs

    uniform = next(c for c in ingested_campaigns if "-uniform-" in c)
    cfg = {"ops": {"beam_map_model": {"config": {"campaigns": [uniform]}}}}
    result = defs.resolve_job_def("train_model").execute_in_process(instance=dagster_instance, run_config=cfg,
                                                                    partition_key=SITE)
    assert result.success
    return uniform, result


@pytest.fixture(scope="session")
def paper_protocol_inputs(ingested_campaigns, dagster_instance):
    """The paper's coarse input (ground truth + N(0, 400 m^2)) of every simulated smoke campaign, through the
    paper_protocol job (evaluation group): {campaign_id: run result}."""
    from radiomap_assets.definitions import defs
    from radiomap_assets.domain.simulation import campaign_kind

    job = defs.resolve_job_def("paper_protocol")
    return {cid: job.execute_in_process(instance=dagster_instance, partition_key=cid)
            for cid in ingested_campaigns if campaign_kind(cid) is not None}


# Two tiers (issue 11): a test that needs the ray-traced smoke site (every session fixture from ``simulated_site``
# on depends on it) or serves the web UI is a graph test; the rest are unit tests that never ray trace.
# `pytest -m "not graph"` runs the unit tier alone, `pytest -m graph` the graph tier; `make test` runs both.
GRAPH_FIXTURES = {"simulated_site", "simulated_hall"}
GRAPH_MODULES = {"test_webserver", "test_ui_browser", "test_channel_estimation_graph"}


def pytest_configure(config):
    config.addinivalue_line("markers", "graph: needs the ray-traced smoke site or the web UI (the graph tier)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if GRAPH_FIXTURES & set(getattr(item, "fixturenames", ())) or item.module.__name__.split(".")[-1] in \
                GRAPH_MODULES:
            item.add_marker(pytest.mark.graph)
