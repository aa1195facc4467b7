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
