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

    result = defs.resolve_job_def("simulate_site").execute_in_process(instance=dagster_instance)
    assert result.success
    return result


@pytest.fixture(scope="session")
def ground_truth_path(simulated_site):
    from radiomap_assets.assets.simulation import ground_truth_map_name
    from radiomap_assets.definitions import defs

    return defs.resources["beam_map_store"].latest(ground_truth_map_name(defs.resources["scene"]))
