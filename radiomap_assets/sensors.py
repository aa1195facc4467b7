"""Automation: a cursor-based sensor on the landing zone.

Each tick lists the landing zone; every complete campaign not seen before becomes a dynamic partition and gets
one ingestion run (run_key = campaign id, so Dagster itself never launches it twice). The cursor maps the campaign
ids already handled to a fingerprint of the contents requested and is persisted by Dagster, so a restarted daemon
continues where it was; a campaign quarantined and then landed again, corrected, under the same id has other
contents and gets a run of its own (run_key ``<id>@<fingerprint>``), the quarantine record of the old one kept.
Duplicates of accepted campaigns, campaigns whose manifest never arrives, ids against the id rule and symbolic links
are quarantined (see ``LandingZone.scan``); an entry that cannot be read is skipped with a warning, never stopping
the others.
"""


import json
from dataclasses import dataclass

from dagster import RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from radiomap_assets.assets.shared import campaign_partitions
from radiomap_assets.jobs import ingestion_job
from resources import LandingZone


def decode_cursor(cursor: str | None) -> dict[str, str | None]:
    """The campaigns requested so far, each with the fingerprint of the contents requested (None: unknown, as in
    cursors written before fingerprints were kept)."""
    if not cursor:
        return {}
    seen = json.loads(cursor).get("seen", [])
    return dict(seen) if isinstance(seen, dict) else dict.fromkeys(seen)


def encode_cursor(seen: dict[str, str | None]) -> str:
    return json.dumps({"seen": dict(sorted(seen.items()))})


@dataclass
class LandingTick:
    """One sensor evaluation as plain data."""

    new: list[str]  # campaigns to add as partitions and ingest
    again: list[tuple[str, str]]  # (campaign, fingerprint): landed again with other contents, ingest again
    quarantined: list[tuple[str, str]]
    unreadable: list[tuple[str, str]]
    cursor: str

    def run_requests(self) -> list[RunRequest]:
        """One ingestion run per campaign; the run key is the campaign id, and for a campaign landed again
        ``<id>@<fingerprint>``: Dagster never launches one twice, and a corrected campaign gets a run of its own."""
        return ([RunRequest(run_key=cid, partition_key=cid) for cid in self.new]
                + [RunRequest(run_key=f"{cid}@{fp}", partition_key=cid) for cid, fp in self.again])


def partitions_in_landing_zone(instance, landing_zone: LandingZone) -> set[str]:
    """The campaigns in the landing zone that are partitions already (requested by an earlier tick whose cursor may
    be lost): one lookup per landing entry, not a listing of every partition ever added."""
    landing_zone.ensure()
    return {e.name for e in landing_zone.landing_path.iterdir()
            if instance.has_dynamic_partition(campaign_partitions.name, e.name)}


def landing_zone_tick(landing_zone: LandingZone, cursor: str | None, known_partitions: set[str]) -> LandingTick:
    """One sensor evaluation: new campaigns, campaigns landed again after a quarantine, what was quarantined.

    The cursor keeps only what a later tick needs: campaigns requested and not accepted yet (waiting for their
    ingestion, or quarantined and perhaps landed again corrected). An accepted campaign leaves it: a copy landed
    later under its id is quarantined as a duplicate whatever the cursor says, so the cursor does not grow with every
    campaign ever landed (scripts/benchmark_sensor_tick.py)."""
    remembered = decode_cursor(cursor)
    seen = {**dict.fromkeys(known_partitions), **remembered}
    scan = landing_zone.scan(already_seen=seen)
    new = scan.complete  # complete and not seen before
    again = [(c, scan.fingerprints[c]) for c in scan.relanded]
    remembered.update({c: scan.fingerprints[c] for c in new + scan.relanded})
    accepted = landing_zone.accepted_path
    remembered = {c: fp for c, fp in remembered.items() if not (accepted / c).exists()}
    return LandingTick(new, again, scan.quarantined, scan.unreadable, encode_cursor(remembered))


@sensor(job=ingestion_job, minimum_interval_seconds=30,
        description="Adds one campaign partition per complete new campaign in the landing zone and requests its "
                    "ingestion run, exactly once (cursor + run key).")
def landing_zone_sensor(context: SensorEvaluationContext, landing_zone: LandingZone):
    known = partitions_in_landing_zone(context.instance, landing_zone) if context.instance else set()
    tick = landing_zone_tick(landing_zone, context.cursor, known)
    for cid, reason in tick.quarantined:
        context.log.warning(f"quarantined {cid}: {reason}")
    for entry, error in tick.unreadable:
        context.log.warning(f"could not read {entry} in the landing zone (tried again next tick): {error}")
    if not tick.new and not tick.again:
        context.update_cursor(tick.cursor)
        return SkipReason(f"no new complete campaign ({len(tick.quarantined)} quarantined, "
                          f"{len(tick.unreadable)} unreadable)")
    return SensorResult(
        run_requests=tick.run_requests(),
        dynamic_partitions_requests=[campaign_partitions.build_add_request(tick.new)] if tick.new else [],
        cursor=tick.cursor,
    )
