"""Scaling by configuration (issue 15): the same job runs on the multiprocess executor and on a local Dask cluster,
chosen by RADIOMAP_EXECUTOR alone, and gives the same ingested campaign as the default in-process executor."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN = "exec-good-1"

SCRIPT = f"""
import pickle, sys
from dagster import DagsterInstance, execute_job, reconstructable
from radiomap_assets import env_setup
from radiomap_assets.definitions import defs
from tests.campaign_corpus import write_good
from tests.test_executors import ingest_campaign_job

env_setup.configure()
write_good(defs.resources["landing_zone"].landing_path, "{CAMPAIGN}")
instance = DagsterInstance.get()
instance.add_dynamic_partitions("campaigns", ["{CAMPAIGN}"])
job = reconstructable(ingest_campaign_job)
with execute_job(job, instance, tags={{"dagster/partition": "{CAMPAIGN}"}}) as result:
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    print("EXECUTOR", result.job_def.executor_def.name)
"""


def ingest_campaign_job():
    """The ingestion job, reconstructable in other processes (each step of a multiprocess or Dask run)."""
    from radiomap_assets.definitions import defs

    return defs.resolve_job_def("ingest_campaign")


def _ingest_with(executor: str, home: Path):
    env = {**os.environ, "RADIOMAP_EXECUTOR": executor, "RADIOMAP_HOME": str(home),
           "DAGSTER_HOME": str(home / "dagster_home"), "RADIOMAP_DASK_WORKERS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert f"EXECUTOR {executor}" in out.stdout
    import pickle

    with open(home / "storage" / "masked_sparse_csi" / CAMPAIGN, "rb") as f:
        return pickle.load(f)


@pytest.mark.parametrize("executor", ["multiprocess", "dask"])
def test_a_job_runs_on_the_executor_a_switch_chooses_and_gives_the_same_result(executor, tmp_path):
    reference = _ingest_with("in_process", tmp_path / "in_process")
    got = _ingest_with(executor, tmp_path / executor)
    assert np.array_equal(got.g, reference.g) and np.array_equal(got.m, reference.m)
