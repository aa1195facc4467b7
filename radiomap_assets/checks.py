"""Asset checks: what can go wrong in a detectable way (schema, value ranges, mask density, map coverage)."""


import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.localization import coarse_location_problem
from radiomap_assets.domain.measurement import MaskedSparseCSI
from resources import LandingZone

MIN_COVERAGE_ANY_BEAM = 0.3  # share of walkable cells some ray reached, per base station


GROUND_TRUTH_COVERAGE = ("Blocks when power is finite where no ray reached (a fake value); warns (does not block) "
                         "when coverage is low. Per base station, the share of walkable cells that some ray reached "
                         "(any beam) is at least 30%, and power is finite exactly where a ray reached a walkable cell "
                         "(NaN at coverage holes and off walkable cells, never a fake value).")
LOS_AND_NLOS = ("A warning, never blocks: every base station has both LOS and NLOS walkable cells (between 1% and "
                "95% LOS).")


def ground_truth_coverage(ds) -> AssetCheckResult:
    """``ds``: the stored ground-truth beam map (holes as stored: NaN)."""
    valid = ds.valid.values
    covered = ds.covered.values
    any_beam = covered.any(axis=1)[:, valid].mean(axis=1)
    power = ds.power_dbm.values
    nan_ok = bool((np.isfinite(power) == (covered & valid[None, None])).all())
    ok = bool((any_beam >= MIN_COVERAGE_ANY_BEAM).all()) and nan_ok
    return AssetCheckResult(check_name="ground_truth_coverage", passed=ok,
                            severity=AssetCheckSeverity.WARN if nan_ok else AssetCheckSeverity.ERROR,
                            metadata={"coverage_any_beam": [round(float(v), 3) for v in any_beam],
                                      "finite_exactly_where_covered": nan_ok,
                                      "walkable_share": round(float(valid.mean()), 4)})


def base_stations_see_los_and_nlos(ds) -> AssetCheckResult:
    share = ds.los.values[:, ds.valid.values].mean(axis=1)
    ok = bool(((share > 0.01) & (share < 0.95)).all())
    return AssetCheckResult(check_name="base_stations_see_los_and_nlos", passed=ok, severity=AssetCheckSeverity.WARN,
                            metadata={"los_share": [round(float(v), 3) for v in share]})


def simulated_campaigns_follow_contract(landing_zone: LandingZone, campaign_ids: list[str]) -> AssetCheckResult:
    problems, checked = [], 0
    for cid in campaign_ids:
        for root in (landing_zone.landing_path, landing_zone.accepted_path):
            folder = root / cid
            if not (folder / contract.MANIFEST).exists():
                continue
            checked += 1
            try:
                contract.load_campaign(folder)
            except contract.CampaignValidationError as e:
                problems.append(str(e))
    return AssetCheckResult(check_name="simulated_campaigns_follow_contract", passed=not problems and checked > 0,
                            metadata={"campaigns_checked": checked, "problems": problems[:10]})


# Checks of the campaign-partitioned assets are evaluated inside the asset (``check_specs``), one result per
# partition materialization; these functions compute them.

def measurement_power_range(campaign: contract.Campaign) -> AssetCheckResult:
    """Blocking: received power within the physical range once read as dBm (the contract blocks a landed campaign
    whose declared unit contradicts its values; this guards the level a relative campaign was aligned to)."""
    p = campaign.measurements["power_dbm"]
    lo, hi = float(p.min()), float(p.max())
    return AssetCheckResult(check_name="measurement_power_range",
                            passed=contract.PHYSICAL_POWER_DBM[0] <= lo and hi <= contract.PHYSICAL_POWER_DBM[1],
                            metadata={"min_dbm": round(lo, 2), "max_dbm": round(hi, 2), "unit": campaign.power_unit,
                                      "power_offset_db": round(campaign.power_offset_db, 2)})


def mask_density(csi: MaskedSparseCSI) -> AssetCheckResult:
    in_range = bool(np.isfinite(csi.g).all() and (csi.g[~csi.m] == 0).all())
    empty = int((csi.m.sum(axis=1) == 0).sum())
    density = csi.mask_density
    passed = in_range and empty == 0 and density >= 0.01
    sev = AssetCheckSeverity.ERROR if not in_range or empty else AssetCheckSeverity.WARN
    return AssetCheckResult(check_name="mask_density", passed=passed, severity=sev,
                            metadata={"mask_density": round(density, 4), "values_in_range": in_range,
                                      "samples_without_observation": empty})


def trajectories_long_enough(short: dict[str, int], window: int) -> AssetCheckResult:
    """A warning, never blocks: trajectories shorter than the model's training window (``short``: {id: samples})
    are still recovered, but a training cannot draw windows from them; said here, per campaign, not dropped
    silently."""
    return AssetCheckResult(check_name="trajectories_long_enough", passed=not short, severity=AssetCheckSeverity.WARN,
                            metadata={"window_samples": window, "shorter_trajectories": len(short),
                                      "samples_in_them": int(sum(short.values())),
                                      "first_ones": MetadataValue.json(dict(list(short.items())[:20]))})


def mean_second_difference(frame: pd.DataFrame) -> float:
    """Mean |p_{l+1} - 2 p_l + p_{l-1}| over every trajectory of ``frame`` (trajectory_id, x_m, y_m) [m]: how
    jagged a track is. Label-free."""
    out = []
    for _, g in frame.groupby("trajectory_id", sort=False):
        xy = g[["x_m", "y_m"]].to_numpy()
        if len(xy) > 2:
            out.append(np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=1))
    return float(np.concatenate(out).mean()) if out else 0.0


def recovered_smoother_than_coarse_input(recovered: pd.DataFrame, coarse: pd.DataFrame) -> AssetCheckResult:
    """Label-free: the recovered track is less jagged than the coarse input it came from. A trajectory can pass
    this and still be farther from the truth than its input; ``recovered_closer_than_coarse_input`` is the check
    that says so (evaluation group, where ground truth exists)."""
    rec, crs = mean_second_difference(recovered), mean_second_difference(coarse)
    return AssetCheckResult(check_name="recovered_smoother_than_coarse_input", passed=bool(rec < crs),
                            severity=AssetCheckSeverity.WARN,
                            metadata={"mean_second_difference_m": MetadataValue.json({"recovered": round(rec, 3),
                                                                                         "coarse": round(crs, 3)}),
                                      "note": "label-free: says nothing about accuracy"})


def recovered_closer_than_coarse_input(accuracy: dict) -> AssetCheckResult:
    """Evaluation: the recovered trajectory's mean error against ground truth is below its coarse input's.
    ``accuracy`` is the value of ``recovered_trajectory_accuracy`` ({} when the campaign has no ground truth:
    passes with a note, nothing to compare)."""
    name = "recovered_closer_than_coarse_input"
    if not accuracy:
        return AssetCheckResult(check_name=name, passed=True,
                                metadata={"skipped": "campaign has no ground_truth.parquet: nothing to compare"})
    rec, crs = float(accuracy["recovered"]["mean_error_m"]), float(accuracy["coarse"]["mean_error_m"])
    return AssetCheckResult(check_name=name, passed=bool(rec < crs), severity=AssetCheckSeverity.ERROR,
                            metadata={"recovered_mean_error_m": round(rec, 3), "coarse_mean_error_m": round(crs, 3),
                                      "ratio_recovered_over_coarse": round(rec / max(crs, 1e-9), 3),
                                      "coarse_method": str(accuracy.get("coarse_method", ""))})


def coarse_locations_in_range(locations: pd.DataFrame, campaign: contract.Campaign) -> AssetCheckResult:
    xy = locations[["x_m", "y_m"]].to_numpy()
    bs = campaign.bs_positions[:, :2]
    problem = coarse_location_problem(bs)
    if problem is not None:  # the campaign serves what it can; nothing wrong to block, something to say
        return AssetCheckResult(check_name="coarse_locations_in_range", passed=False,
                                severity=AssetCheckSeverity.WARN, metadata={"no_coarse_locations": problem})
    bs = bs[np.isfinite(bs).all(axis=1)]
    finite = bool(np.isfinite(xy).all())
    dist = np.min(np.linalg.norm(xy[:, None, :] - bs[None], axis=2), axis=1) if finite else np.array([np.inf])
    return AssetCheckResult(check_name="coarse_locations_in_range", passed=finite and float(dist.max()) < 1000.0,
                            metadata={"finite": finite, "max_distance_to_nearest_bs_m": float(dist.max())})

