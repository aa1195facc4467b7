"""Automation (issue 15): the declarative conditions on the real asset graph, evaluated against an instance where
materializations are reported (no run, no ray tracing), and the retraining trigger's rule."""

from dagster import AssetKey, AssetMaterialization, DagsterInstance, evaluate_automation_conditions

from radiomap_assets.sensors import retraining_due

SITE = "san_francisco"


def _report(instance, asset: str, partition: str, data_version: str | None = None) -> None:
    tags = {"dagster/data_version": data_version} if data_version else None
    instance.report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=partition, tags=tags))


def _requested(result, asset: str) -> set[str]:
    return set(result.get_requested_partitions(AssetKey(asset))) if result.total_requested else set()


def test_a_landed_campaign_and_a_new_champion_refresh_what_depends_on_them():
    from radiomap_assets.definitions import defs

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["landed-1", "landed-2", "quarantined-1"])
    _report(instance, "masked_sparse_csi", "landed-0")  # before the daemon's first tick: an existing home
    _report(instance, "coarse_locations", "landed-0")
    instance.add_dynamic_partitions("campaigns", ["landed-0"])
    step = evaluate_automation_conditions(defs=defs, instance=instance)
    assert step.total_requested == 0  # starting the daemon on an existing home does not recompute everything

    # a campaign is ingested (the landing sensor's run): its trajectories follow, not the others'
    _report(instance, "masked_sparse_csi", "landed-1")
    _report(instance, "coarse_locations", "landed-1")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert _requested(step, "recovered_trajectories") == {"landed-1"}
    assert not _requested(step, "beam_maps")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert step.total_requested == 0  # requested once, not on every tick

    # a first champion of the site: its beam map, and every campaign that has inputs (never the quarantined one)
    _report(instance, "masked_sparse_csi", "landed-2")
    _report(instance, "coarse_locations", "landed-2")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert _requested(step, "recovered_trajectories") == {"landed-2"}
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)  # its run is done
    _report(instance, "site_grid", SITE)
    _report(instance, "beam_map_model", SITE, data_version=f"generative_beam_map_{SITE}/1")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert _requested(step, "beam_maps") == {SITE}
    assert _requested(step, "recovered_trajectories") == {"landed-0", "landed-1", "landed-2"}

    # a retraining whose version became challenger leaves the serving version (the data version) as it was
    _report(instance, "beam_map_model", SITE, data_version=f"generative_beam_map_{SITE}/1")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert step.total_requested == 0

    # a new champion refreshes again
    _report(instance, "beam_map_model", SITE, data_version=f"generative_beam_map_{SITE}/3")
    step = evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert _requested(step, "beam_maps") == {SITE}
    assert _requested(step, "recovered_trajectories") == {"landed-0", "landed-1", "landed-2"}


def test_retraining_is_due_after_n_newly_accepted_campaigns_of_a_site():
    ingested = {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2"]}
    trained = {"a": {"a1", "a2"}, "b": None}  # b never trained
    assert retraining_due(ingested, trained, after=2) == {"a": ["a3", "a4"], "b": ["b1", "b2"]}
    assert retraining_due(ingested, trained, after=3) == {}
    assert retraining_due(ingested, {"a": {"a1", "a2", "a3", "a4"}, "b": {"b1"}}, after=1) == {"b": ["b2"]}
    assert retraining_due(ingested, trained, after=0) == {}  # 0: the trigger is off
