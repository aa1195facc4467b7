"""Automation: a cursor-based sensor on the landing zone, the declarative-automation sensors that refresh trajectories
and beam maps (conditions in radiomap_assets.automation), and retraining: a schedule and a trigger after N newly
accepted campaigns. All run by default under the daemon (``make ui``); the switches are environment variables
(``RETRAIN_SWITCH``, ``RETRAIN_CRON``, ``RETRAIN_AFTER``), read when the code location loads.

Each tick lists the landing zone; every complete campaign not seen before becomes a dynamic partition and gets
one ingestion run (run_key = campaign id, so Dagster itself never launches it twice). The cursor maps the campaign
ids already handled to a fingerprint of the contents requested and is persisted by Dagster, so a restarted daemon
continues where it was; a campaign quarantined and then landed again, corrected, under the same id has other
contents and gets a run of its own (run_key ``<id>@<fingerprint>``), the quarantine record of the old one kept.
A campaign whose ingestion run died or failed for a reason other than its data (a killed worker, a full disk: its
folder is still in the landing zone, not quarantined) is requested again once Dagster's own run retries are spent
(``dagster/will_retry`` is not set on its newest run), at most ``MAX_SENSOR_RETRIES`` times, run key
``<id>@<fingerprint>#retry<k>``. Duplicates of accepted campaigns, campaigns whose manifest never arrives, ids
against the id rule and symbolic links are quarantined (see ``LandingZone.scan``); an entry that cannot be read is
skipped with a warning, never stopping the others.
"""


import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Callable

from dagster import (AssetSelection, AutomationConditionSensorDefinition,
                     DagsterRunStatus, DefaultScheduleStatus, DefaultSensorStatus, RunRequest, RunsFilter,
                     ScheduleEvaluationContext, SensorEvaluationContext, SensorResult, SkipReason, schedule, sensor)
from dagster._core.storage.tags import WILL_RETRY_TAG

from radiomap_assets import storage
from radiomap_assets.assets.shared import (campaign_partitions, campaign_site, csi_campaign_partitions,
                                           site_partitions)
from radiomap_assets.automation import CAMPAIGN_LANE, HEAVY_LANE, LANE_TAG, REFRESH_TAG
from radiomap_assets.jobs import ingestion_job, measured_csi_job, training_job
from resources import LandingZone

# retraining switches (environment, read when the code location loads): off, the cron of the schedule, and after how
# many newly accepted campaigns of a site the trigger retrains it (0: never)
RETRAIN_SWITCH, RETRAIN_CRON, RETRAIN_AFTER = "RADIOMAP_RETRAIN", "RADIOMAP_RETRAIN_CRON", "RADIOMAP_RETRAIN_AFTER"
DEFAULT_RETRAIN_CRON, DEFAULT_RETRAIN_AFTER = "0 3 * * 0", 5  # Sundays 03:00; after 5 new campaigns


MAX_SENSOR_RETRIES = 3


def decode_cursor(cursor: str | None) -> dict[str, str | None]:
    """The campaigns requested so far, each with the fingerprint of the contents requested (None: unknown, as in
    cursors written before fingerprints were kept)."""
    if not cursor:
        return {}
    seen = json.loads(cursor).get("seen", [])
    return dict(seen) if isinstance(seen, dict) else dict.fromkeys(seen)


def decode_retries(cursor: str | None) -> dict[str, int]:
    """How often the sensor has requested each waiting campaign again."""
    return dict(json.loads(cursor).get("retries", {})) if cursor else {}


def encode_cursor(seen: dict[str, str | None], retries: dict[str, int] | None = None) -> str:
    out = {"seen": dict(sorted(seen.items()))}
    if retries:
        out["retries"] = dict(sorted(retries.items()))
    return json.dumps(out)


@dataclass
class LandingTick:
    """One sensor evaluation as plain data."""

    new: list[str]  # campaigns to add as partitions and ingest
    again: list[tuple[str, str]]  # (campaign, fingerprint): landed again with other contents, ingest again
    quarantined: list[tuple[str, str]]
    unreadable: list[tuple[str, str]]
    cursor: str
    retried: list[tuple[str, str]] = field(default_factory=list)  # (campaign, run key): its last run died

    def run_requests(self) -> list[RunRequest]:
        """One ingestion run per campaign; the run key is the campaign id, and for a campaign landed again
        ``<id>@<fingerprint>``: Dagster never launches one twice, and a corrected campaign gets a run of its own;
        a campaign whose run died gets ``<id>@<fingerprint>#retry<k>``."""
        return ([RunRequest(run_key=cid, partition_key=cid) for cid in self.new]
                + [RunRequest(run_key=f"{cid}@{fp}", partition_key=cid) for cid, fp in self.again]
                + [RunRequest(run_key=key, partition_key=cid) for cid, key in self.retried])


def partitions_in_landing_zone(instance, landing_zone: LandingZone) -> set[str]:
    """The campaigns in the landing zone that are partitions already (requested by an earlier tick whose cursor may
    be lost): one lookup per landing entry, not a listing of every partition ever added."""
    landing_zone.ensure()
    return {e.name for e in landing_zone.landing_path.iterdir()
            if instance.has_dynamic_partition(campaign_partitions.name, e.name)}


def ingestion_died(instance, campaign_id: str) -> bool:
    """The newest ingestion run of the campaign ended without success and Dagster will not retry it itself."""
    runs = instance.get_runs(filters=RunsFilter(job_name=ingestion_job.name,
                                                tags={"dagster/partition": campaign_id}), limit=1)
    return bool(runs) and runs[0].status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED) \
        and runs[0].tags.get(WILL_RETRY_TAG) != "true"


def landing_zone_tick(landing_zone: LandingZone, cursor: str | None, known_partitions: set[str],
                      died: Callable[[str], bool] | None = None) -> LandingTick:
    """One sensor evaluation: new campaigns, campaigns landed again after a quarantine, what was quarantined.

    The cursor keeps only what a later tick needs: campaigns requested and not accepted yet (waiting for their
    ingestion, or quarantined and perhaps landed again corrected). An accepted campaign leaves it: a copy landed
    later under its id is quarantined as a duplicate whatever the cursor says, so the cursor does not grow with every
    campaign ever landed (scripts/benchmark_sensor_tick.py)."""
    remembered, retries = decode_cursor(cursor), decode_retries(cursor)
    seen = {**dict.fromkeys(known_partitions), **remembered}
    scan = landing_zone.scan(already_seen=seen)
    new = scan.complete  # complete and not seen before
    again = [(c, scan.fingerprints[c]) for c in scan.relanded]
    retried = []
    for cid in [c for c in scan.waiting if c in seen]:  # requested earlier, still in the landing zone: run died?
        if died is not None and retries.get(cid, 0) < MAX_SENSOR_RETRIES and died(cid):
            retries[cid] = retries.get(cid, 0) + 1
            retried.append((cid, f"{cid}@{scan.fingerprints.get(cid)}#retry{retries[cid]}"))
    remembered.update({c: scan.fingerprints[c] for c in new + scan.relanded})
    accepted = landing_zone.accepted_path
    remembered = {c: fp for c, fp in remembered.items() if not (accepted / c).exists()}
    retries = {c: k for c, k in retries.items() if c in remembered}
    return LandingTick(new, again, scan.quarantined, scan.unreadable, encode_cursor(remembered, retries), retried)


@sensor(job=ingestion_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Adds one campaign partition per complete new campaign in the landing zone and requests its "
                    "ingestion run, exactly once (cursor + run key).")
def landing_zone_sensor(context: SensorEvaluationContext, landing_zone: LandingZone):
    known = partitions_in_landing_zone(context.instance, landing_zone) if context.instance else set()
    died = (lambda cid: ingestion_died(context.instance, cid)) if context.instance else None
    tick = landing_zone_tick(landing_zone, context.cursor, known, died)
    for cid, reason in tick.quarantined:
        context.log.warning(f"quarantined {cid}: {reason}")
    for entry, error in tick.unreadable:
        context.log.warning(f"could not read {entry} in the landing zone (tried again next tick): {error}")
    for cid, key in tick.retried:
        context.log.warning(f"requesting {cid} again ({key}): its last ingestion run ended without accepting it")
    if not tick.new and not tick.again and not tick.retried:
        context.update_cursor(tick.cursor)
        return SkipReason(f"no new complete campaign ({len(tick.quarantined)} quarantined, "
                          f"{len(tick.unreadable)} unreadable)")
    return SensorResult(
        run_requests=tick.run_requests(),
        dynamic_partitions_requests=[campaign_partitions.build_add_request(tick.new)] if tick.new else [],
        cursor=tick.cursor,
    )


@sensor(job=measured_csi_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Adds one csi_campaigns partition per new measured complex-CSI store renamed into "
                    "landing_csi/<id>.zarr and requests its run (checked, accepted or quarantined, estimated); "
                    "entries that are not <id>.zarr stores, links and duplicates are quarantined here.")
def csi_landing_sensor(context: SensorEvaluationContext, landing_zone: LandingZone):
    known = set(context.instance.get_dynamic_partitions(csi_campaign_partitions.name)) if context.instance else set()
    new, quarantined = landing_zone.scan_csi(known)
    for cid, reason in quarantined:
        context.log.warning(f"quarantined CSI campaign {cid}: {reason}")
    if not new:
        return SkipReason(f"no new CSI store ({len(quarantined)} quarantined)")
    return SensorResult(run_requests=[RunRequest(run_key=cid, partition_key=cid) for cid in new],
                        dynamic_partitions_requests=[csi_campaign_partitions.build_add_request(new)])


# ---- declarative automation: two sensors, one per lane of the run queue -------------------------------------------

trajectory_refresh_sensor = AutomationConditionSensorDefinition(
    "refresh_recovered_trajectories", target=AssetSelection.assets("recovered_trajectories"),
    run_tags={LANE_TAG: CAMPAIGN_LANE, REFRESH_TAG: "automation"}, default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Recovers a campaign's trajectories when its inputs land, and every campaign's when its site gets a "
                "new champion (radiomap_assets.automation).")
beam_map_refresh_sensor = AutomationConditionSensorDefinition(
    "refresh_beam_maps", target=AssetSelection.assets("beam_maps"),
    run_tags={LANE_TAG: HEAVY_LANE, REFRESH_TAG: "automation"}, default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30, description="Decodes a site's beam map when the site gets a new champion.")


# ---- retraining: a schedule and a trigger after N newly accepted campaigns ----------------------------------------

def retraining_on() -> bool:
    return os.environ.get(RETRAIN_SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


def retrain_after() -> int:
    value = os.environ.get(RETRAIN_AFTER, str(DEFAULT_RETRAIN_AFTER))
    try:
        return max(int(value), 0)
    except ValueError:
        raise ValueError(f"{RETRAIN_AFTER} must be a whole number of campaigns (0: never), got {value!r}") from None


def ingested_campaigns_by_site(instance) -> dict[str, list[str]]:
    """Every campaign with masked sparse CSI and coarse locations, by the site its manifest names."""
    out: dict[str, list[str]] = {}
    for cid in storage.materialized_campaigns(instance, "masked_sparse_csi", "coarse_locations"):
        try:
            out.setdefault(campaign_site(cid), []).append(cid)
        except (FileNotFoundError, KeyError, ValueError):  # accepted folder gone or an unknown site: not trainable
            continue
    return out


def trained_campaigns(instance, site: str) -> set[str] | None:
    """The campaigns the newest training of ``site`` used (None: the site was never trained)."""
    materialization = storage.latest_materialization(instance, "beam_map_model", site)
    if materialization is None:
        return None
    value = materialization.metadata.get("campaigns")
    return set(value.value) if value is not None else set()


def retraining_due(ingested: dict[str, list[str]], trained: dict[str, set[str] | None], after: int) -> dict[str, list]:
    """Per site, the campaigns accepted since its newest training, where they are at least ``after`` (a site never
    trained counts all of its campaigns). ``after`` = 0: never."""
    if after <= 0:
        return {}
    due = {}
    for site, campaigns in ingested.items():
        new = sorted(set(campaigns) - (trained.get(site) or set()))
        if len(new) >= after:
            due[site] = new
    return due


def retraining_request(site: str, reason: str, run_key: str | None = None) -> RunRequest:
    """A training of ``site`` on every accepted campaign of the site (TrainingConfig.campaigns empty); the new
    version serves only if promote() makes it champion."""
    return RunRequest(run_key=run_key, partition_key=site, tags={LANE_TAG: HEAVY_LANE, "radiomap/retrain": reason})


@sensor(job=training_job, minimum_interval_seconds=120,
        default_status=DefaultSensorStatus.RUNNING if retraining_on() else DefaultSensorStatus.STOPPED,
        description=f"Retrains a site on all its accepted campaigns once {RETRAIN_AFTER} (default "
                    f"{DEFAULT_RETRAIN_AFTER}) campaigns were accepted since its newest training. Off with "
                    f"{RETRAIN_SWITCH}=off.")
def retrain_after_new_campaigns(context: SensorEvaluationContext):
    after = retrain_after()
    ingested = ingested_campaigns_by_site(context.instance)
    due = retraining_due(ingested, {s: trained_campaigns(context.instance, s) for s in ingested}, after)
    if not due:
        return SkipReason(f"no site has {after} or more campaigns accepted since its newest training"
                          if after else f"{RETRAIN_AFTER}=0: the trigger never retrains")
    requests = []
    for site, new in due.items():
        digest = hashlib.sha1(",".join(new).encode()).hexdigest()[:12]
        context.log.info(f"{site}: {len(new)} campaigns accepted since its newest training; retraining")
        requests.append(retraining_request(site, f"{len(new)} new campaigns", run_key=f"retrain-{site}-{digest}"))
    return requests


@schedule(job=training_job, cron_schedule=os.environ.get(RETRAIN_CRON, DEFAULT_RETRAIN_CRON),
          default_status=DefaultScheduleStatus.RUNNING if retraining_on() else DefaultScheduleStatus.STOPPED,
          description=f"Retrains every site that has accepted campaigns, on all of them, on a cron ({RETRAIN_CRON}, "
                      f"default '{DEFAULT_RETRAIN_CRON}'). Off with {RETRAIN_SWITCH}=off.")
def retraining_schedule(context: ScheduleEvaluationContext):
    ingested = ingested_campaigns_by_site(context.instance)
    sites = [s for s in site_partitions.get_partition_keys() if ingested.get(s)]
    if not sites:
        return SkipReason("no site has an accepted campaign to train on")
    return [retraining_request(s, "schedule") for s in sites]
