"""Declarative automation (issue 15): what refreshes by itself once the daemon runs (``make ui``).

- A campaign that lands is ingested by the landing sensor (radiomap_assets.sensors); its ``recovered_trajectories``
  follow as soon as its masked sparse CSI and coarse locations are updated, with the current champion of its site.
- A new champion (``beam_map_model``'s data version is the serving version, so a challenger changes nothing)
  refreshes the site's ``beam_maps`` and the recovered trajectories of every campaign.

Dagster's ``eager()`` does not fit here, a known trap with dynamic partitions: ``recovered_trajectories`` (one
partition per campaign) depends on ``beam_map_model`` of *every* site (AllPartitionMapping; a campaign's site is
data, not a partition mapping), so ``eager()``'s "no dependency missing" waits for a model of each site, and its
"any dependency updated" refreshes every campaign when any site's model is retrained. The conditions below wait
only for the campaign's own inputs and react to a changed *champion* only; the asset itself skips, in runs this
automation launched (run tag ``REFRESH_TAG``), a campaign whose site has no champion yet or whose trajectories are
already current (same champion, same inputs), so a new champion of one site costs the other site's campaigns one
quick look each, not a recovery.

The runs carry ``LANE_TAG`` so the run queue gives campaigns their own lane beside training (env_setup's
dagster.yaml: one ``heavy`` run and one ``campaign`` run at a time).
"""

from __future__ import annotations

from dagster import AssetSelection, AutomationCondition

REFRESH_TAG = "radiomap/refresh"  # set on runs the automation launches: they may skip what is already current
LANE_TAG = "radiomap/lane"  # the run queue's lanes (env_setup.DAGSTER_YAML)
CAMPAIGN_LANE, HEAVY_LANE = "campaign", "heavy"

_CAMPAIGN_INPUTS = AssetSelection.assets("masked_sparse_csi", "coarse_locations")
_MODEL = AssetSelection.assets("beam_map_model")


def champion_changed() -> AutomationCondition:
    """A ``beam_map_model`` partition this asset depends on has a new data version: a new champion serves."""
    return AutomationCondition.any_deps_match(AutomationCondition.data_version_changed()).allow(_MODEL)


def _not_busy() -> AutomationCondition:
    return ~AutomationCondition.any_deps_in_progress() & ~AutomationCondition.in_progress()


def recovered_trajectories_condition() -> AutomationCondition:
    """A campaign's trajectories: when its own inputs were updated (a campaign landed, or landed again corrected) or
    a new champion serves; never while its own inputs are missing (a quarantined campaign has a partition and no
    inputs). The model's partitions are not waited for: the asset skips a campaign whose site has none."""
    inputs_updated = AutomationCondition.any_deps_updated().allow(_CAMPAIGN_INPUTS)
    return ((inputs_updated | champion_changed()).since_last_handled()
            & ~AutomationCondition.any_deps_missing().allow(_CAMPAIGN_INPUTS)
            & _not_busy()).with_label("campaign inputs updated or new champion")


def beam_maps_condition() -> AutomationCondition:
    """A site's beam map: when the site's champion changed (one partition per site, mapped one to one)."""
    return (champion_changed().since_last_handled() & ~AutomationCondition.any_deps_missing()
            & _not_busy()).with_label("new champion")
