"""Automation: a cursor-based sensor on the landing zone.

Each tick lists the landing zone; every complete campaign not seen before becomes a dynamic partition and gets
one ingestion run (run_key = campaign id, so Dagster itself never launches it twice). The cursor is the sorted
list of campaign ids already handled and is persisted by Dagster, so a restarted daemon continues where it was.
Duplicates and campaigns whose manifest never arrives are quarantined (see ``LandingZone.scan``).
"""


import json

from dagster import RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from radiomap_assets.assets.shared import campaign_partitions
from radiomap_assets.jobs import ingestion_job
from resources import LandingZone


def decode_cursor(cursor: str | None) -> set[str]:
    if not cursor:
        return set()
    return set(json.loads(cursor).get("seen", []))


def encode_cursor(seen: set[str]) -> str:
    return json.dumps({"seen": sorted(seen)})


def landing_zone_tick(landing_zone: LandingZone, cursor: str | None, known_partitions: set[str]):
    """One sensor evaluation as plain data: (new campaign ids, quarantined (id, reason), new cursor)."""
    seen = decode_cursor(cursor) | set(known_partitions)
    scan = landing_zone.scan(already_seen=seen)
    new = [c for c in scan.complete if c not in seen]
    return new, scan.quarantined, encode_cursor(seen | set(new))


@sensor(job=ingestion_job, minimum_interval_seconds=30,
        description="Adds one campaign partition per complete new campaign in the landing zone and requests its "
                    "ingestion run, exactly once (cursor + run key).")
def landing_zone_sensor(context: SensorEvaluationContext, landing_zone: LandingZone):
    known = set(context.instance.get_dynamic_partitions(campaign_partitions.name)) if context.instance else set()
    new, quarantined, cursor = landing_zone_tick(landing_zone, context.cursor, known)
    for cid, reason in quarantined:
        context.log.warning(f"quarantined {cid}: {reason}")
    if not new:
        context.update_cursor(cursor)
        return SkipReason(f"no new complete campaign ({len(quarantined)} quarantined)")
    return SensorResult(
        run_requests=[RunRequest(run_key=cid, partition_key=cid) for cid in new],
        dynamic_partitions_requests=[campaign_partitions.build_add_request(new)],
        cursor=cursor,
    )
