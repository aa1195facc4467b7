"""The live path of issue 15 with the daemon running (not only the condition objects): a campaign folder dropped into
the landing zone is ingested by the landing sensor and its trajectories are recovered by the automation sensor with
the site's champion, nobody clicking. Prints the time from the drop to the recovered trajectories being recorded in
the instance (what the web UI shows)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from dagster import AssetKey, AssetRecordsFilter, DagsterRunStatus, RunsFilter

from radiomap_assets.automation import REFRESH_TAG
from radiomap_assets.domain import campaign as contract
from tests.test_webserver import _stop

REPO = Path(__file__).resolve().parent.parent
DEADLINE_S = 600


def _materialized(instance, asset: str, partition: str):
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(asset),
                                                                 asset_partitions=[partition]), limit=1).records
    return records[0] if records else None


def test_a_dropped_campaign_gets_its_trajectories_with_the_daemon_running(trained_model, dagster_instance):
    from radiomap_assets.definitions import defs
    from radiomap_assets.profiles import home_layout

    campaign = trained_model[0]
    folder = home_layout().accepted / campaign
    manifest = json.loads((folder / contract.MANIFEST).read_text())
    rows = pd.read_parquet(folder / contract.MEASUREMENTS)
    cid = "live-drop-1"
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=REPO, env={**os.environ, "RADIOMAP_RETRAIN": "off"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        dropped = time.time()
        contract.write_campaign(defs.resources["landing_zone"].landing_path / cid, {**manifest, "campaign_id": cid},
                                rows)
        record = None
        while time.time() - dropped < DEADLINE_S and record is None:
            assert daemon.poll() is None, daemon.stdout.read().decode()[-3000:]
            time.sleep(2.0)
            record = _materialized(dagster_instance, "recovered_trajectories", cid)
        elapsed = time.time() - dropped
        assert record is not None, f"no recovered trajectories for {cid} within {DEADLINE_S} s"
        print(f"\ndrop to recovered trajectories in the instance: {elapsed:.0f} s")
        ingest = dagster_instance.get_runs(RunsFilter(job_name="ingest_campaign",
                                                      tags={"dagster/partition": cid}))
        assert ingest and ingest[0].status == DagsterRunStatus.SUCCESS
        assert ingest[0].tags.get("dagster/sensor_name") == "landing_zone_sensor"
        recovery = dagster_instance.get_run_by_id(record.run_id)
        assert recovery.tags.get(REFRESH_TAG) == "automation"  # launched by the automation, not by a click
        meta = record.asset_materialization.metadata
        champion = defs.resources["mlflow_tracker"].alias_version(f"generative_beam_map_{meta['site'].value}",
                                                                  "champion")
        assert meta["model_version"].value == champion
    finally:
        _stop(daemon, timeout_s=60)
