"""The landing-zone sensor: every complete campaign is requested exactly once, while campaigns keep landing and
across a restart of the sensor (cursor persisted by Dagster, or lost while the partitions survive)."""

from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from radiomap_assets.definitions import defs
from radiomap_assets.domain import campaign as contract
from radiomap_assets.sensors import landing_zone_sensor
from resources import LandingZone
from tests.campaign_corpus import good_manifest, good_measurements, write_good


def _tick(instance, zone, cursor):
    """One sensor evaluation as the daemon does it: evaluate, apply partition requests, keep the cursor."""
    ctx = build_sensor_context(instance=instance, cursor=cursor, resources={"landing_zone": zone}, definitions=defs)
    result = landing_zone_sensor(ctx)
    if isinstance(result, SensorResult):
        for req in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        return [r.partition_key for r in result.run_requests], result.cursor
    assert isinstance(result, SkipReason)
    return [], ctx.cursor


def test_each_campaign_is_requested_exactly_once_while_landing_and_across_restarts(tmp_path):
    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    requested: list[str] = []

    write_good(zone.landing_path, "c1")
    write_good(zone.landing_path, "c2")
    # c3 is being written while the sensor runs: data there, manifest not yet
    (zone.landing_path / "c3").mkdir(parents=True)
    good_measurements().to_parquet(zone.landing_path / "c3" / contract.MEASUREMENTS)
    runs, cursor = _tick(instance, zone, None)
    requested += runs
    assert sorted(runs) == ["c1", "c2"]

    runs, cursor = _tick(instance, zone, cursor)  # nothing new
    requested += runs
    assert runs == []

    # c3's manifest arrives (written last), c4 lands completely; then the sensor "restarts" from its stored cursor
    contract.write_campaign(zone.landing_path / "c3", good_manifest("c3"), good_measurements())
    write_good(zone.landing_path, "c4")
    runs, cursor = _tick(instance, zone, cursor)
    requested += runs
    assert sorted(runs) == ["c3", "c4"]

    # a restart that lost the cursor: the instance's partitions still prevent a second request
    runs, cursor = _tick(instance, zone, None)
    requested += runs
    assert runs == []

    # ingestion accepts c1 (moves it out of the landing zone); a second copy of c1 is a duplicate, not a new run
    zone.accept("c1")
    write_good(zone.landing_path, "c1", seed=5)
    write_good(zone.landing_path, "c5")
    runs, cursor = _tick(instance, zone, cursor)
    requested += runs
    assert runs == ["c5"]
    assert any(p.name.startswith("c1__") for p in zone.quarantine_path.iterdir())

    assert sorted(requested) == ["c1", "c2", "c3", "c4", "c5"]  # each exactly once
    assert sorted(instance.get_dynamic_partitions("campaigns")) == ["c1", "c2", "c3", "c4", "c5"]


def test_run_requests_use_the_campaign_as_run_key(tmp_path):
    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    write_good(zone.landing_path, "k1")
    ctx = build_sensor_context(instance=instance, resources={"landing_zone": zone}, definitions=defs)
    result = landing_zone_sensor(ctx)
    assert [r.run_key for r in result.run_requests] == ["k1"]
    assert result.run_requests[0].partition_key == "k1"


def test_a_campaign_quarantined_then_landed_again_corrected_is_ingested_again_and_its_old_record_kept(tmp_path):
    import pandas as pd

    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    bad = good_measurements()
    bad.loc[3, "power_dbm"] = float("nan")
    contract.write_campaign(zone.landing_path / "c9", good_manifest("c9"), bad)
    ctx = build_sensor_context(instance=instance, resources={"landing_zone": zone}, definitions=defs)
    first = landing_zone_sensor(ctx)
    assert [r.run_key for r in first.run_requests] == ["c9"]
    instance.add_dynamic_partitions("campaigns", ["c9"])
    try:  # the ingestion run: the campaign breaks a rule and is quarantined
        zone.accept("c9")
    except contract.CampaignValidationError:
        pass
    assert _tick(instance, zone, first.cursor)[0] == []  # nothing to do while it is in quarantine

    write_good(zone.landing_path, "c9")  # corrected, landed again under the same id
    ctx = build_sensor_context(instance=instance, cursor=first.cursor, resources={"landing_zone": zone},
                               definitions=defs)
    again = landing_zone_sensor(ctx)
    assert [r.partition_key for r in again.run_requests] == ["c9"]
    assert again.run_requests[0].run_key.startswith("c9@")  # a run of its own, not the first run's key
    assert zone.accept("c9").campaign_id == "c9"
    assert _tick(instance, zone, again.cursor)[0] == []  # exactly once for this version too
    records = [p for p in zone.quarantine_path.iterdir() if p.name.startswith("c9__")]
    assert len(records) == 1 and "finite power" in (records[0] / contract.REASON_TXT).read_text()
    assert isinstance(pd.read_parquet(zone.accepted_path / "c9" / contract.MEASUREMENTS), pd.DataFrame)


def test_a_cursor_written_before_fingerprints_still_prevents_a_second_request(tmp_path):
    import json

    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    write_good(zone.landing_path, "old-1")
    runs, _ = _tick(instance, zone, json.dumps({"seen": ["old-1"]}))
    assert runs == []


def test_the_cursor_keeps_only_campaigns_not_accepted_yet(tmp_path):
    """The cursor does not grow with every campaign ever landed (issue 15): accepted campaigns leave it, a copy of
    one landed again is still quarantined as a duplicate, and a quarantined one stays (its correction must be seen)."""
    import json

    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    for cid in ("a1", "a2", "a3"):
        write_good(zone.landing_path, cid)
    runs, cursor = _tick(instance, zone, None)
    assert sorted(runs) == ["a1", "a2", "a3"] and set(json.loads(cursor)["seen"]) == {"a1", "a2", "a3"}
    zone.accept("a1")
    zone.accept("a2")
    runs, cursor = _tick(instance, zone, cursor)
    assert runs == [] and set(json.loads(cursor)["seen"]) == {"a3"}  # waiting for its ingestion
    write_good(zone.landing_path, "a1", seed=9)  # a second copy of an accepted id
    runs, cursor = _tick(instance, zone, cursor)
    assert runs == [] and any(p.name.startswith("a1__") for p in zone.quarantine_path.iterdir())
    assert (zone.accepted_path / "a1").exists()


def test_a_campaign_whose_ingestion_run_died_is_requested_again_until_the_retries_are_spent(tmp_path):
    """Issue 14: a killed ingestion leaves the campaign in the landing zone; once Dagster's own retries are spent the
    sensor requests it again (its own run key each time), at most MAX_SENSOR_RETRIES times, and a campaign whose run
    is still going, or that Dagster will retry, is left alone."""
    from dagster import DagsterRunStatus
    from dagster._core.storage.tags import WILL_RETRY_TAG
    from dagster._core.test_utils import create_run_for_test
    from radiomap_assets.sensors import MAX_SENSOR_RETRIES

    instance = DagsterInstance.ephemeral()
    zone = LandingZone(root=str(tmp_path))
    write_good(zone.landing_path, "dies")
    write_good(zone.landing_path, "busy")
    runs, cursor = _tick(instance, zone, None)
    assert sorted(runs) == ["busy", "dies"]

    def run_of(cid, status, **tags):
        create_run_for_test(instance, job_name="ingest_campaign", status=status,
                            tags={"dagster/partition": cid, **tags})

    run_of("busy", DagsterRunStatus.STARTED)
    run_of("dies", DagsterRunStatus.FAILURE, **{WILL_RETRY_TAG: "true"})  # Dagster retries it itself
    runs, cursor = _tick(instance, zone, cursor)
    assert runs == []
    keys = []
    for attempt in range(1, MAX_SENSOR_RETRIES + 2):
        run_of("dies", DagsterRunStatus.FAILURE)  # the (retried) run died too
        ctx = build_sensor_context(instance=instance, cursor=cursor, resources={"landing_zone": zone},
                                   definitions=defs)
        result = landing_zone_sensor(ctx)
        if isinstance(result, SensorResult):
            keys += [r.run_key for r in result.run_requests]
            cursor = result.cursor
        else:
            cursor = ctx.cursor
    assert len(keys) == MAX_SENSOR_RETRIES and len(set(keys)) == MAX_SENSOR_RETRIES
    assert all(k.startswith("dies@") and k.endswith(f"#retry{i + 1}") for i, k in enumerate(keys))
    zone.accept("dies")  # a retry finally accepts it: it leaves the cursor
    _, cursor = _tick(instance, zone, cursor)
    assert "dies" not in cursor


def test_ingestion_runs_retry_themselves_when_their_worker_dies_but_never_for_bad_data():
    job = defs.resolve_job_def("ingest_campaign")
    assert job.tags["dagster/max_retries"] == "2" and job.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    from radiomap_assets.env_setup import DAGSTER_YAML
    assert "run_retries:\n  # jobs opt in" in DAGSTER_YAML and "enabled: true" in DAGSTER_YAML
