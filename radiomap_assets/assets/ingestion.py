"""Ingestion group, one dynamic partition per campaign: validated measurements, masked sparse CSI (eq. (2)) and
coarse locations (section II-B). No value here comes from ground truth (acceptance only checks that an optional
ground_truth.parquet has the contract's columns): the paper's noisy-ground-truth coarse input is the evaluation
asset ``paper_protocol_coarse_locations``."""

import time
from typing import Literal

import numpy as np
import pandas as pd
from dagster import AssetCheckSpec, AssetExecutionContext, Config, Failure, MetadataValue, Output, asset

from radiomap_assets import checks
from radiomap_assets.assets.shared import campaign_partitions
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.geometric_locator import campaign_geometric_locations, positioned_base_stations
from radiomap_assets.domain.localization import MIN_POSITIONED_BS, coarse_location_problem, weighted_centroid
from radiomap_assets.domain.measurement import MaskedSparseCSI, masked_sparse_csi as build_masked_sparse_csi
from radiomap_assets.sites import get_site
from radiomap_assets.assets.model_registry import training_window
from resources import LandingZone, RunProfile, SionnaScene

@asset(group_name="ingestion", partitions_def=campaign_partitions, kinds={"pandas"},
       check_specs=[AssetCheckSpec("measurement_power_range", asset="raw_channel_measurements", blocking=True,
                                   description="Blocks: power, read as dBm, lies in the physical range [-250, 60] "
                                               "dBm")],
       description="A landed campaign validated against the contract of design 3.1 and moved to the accepted "
                   "folder; a malformed one is quarantined with its reason and this run fails naming the rule.")
def raw_channel_measurements(context: AssetExecutionContext, landing_zone: LandingZone):
    cid = context.partition_key
    try:
        campaign = landing_zone.accept(cid)
    except contract.CampaignValidationError as e:
        raise Failure(description=f"{e} -> quarantined under {landing_zone.quarantine_path}",
                      metadata={"rule": e.rule, "file": e.file, "row": e.row if e.row is not None else -1}) from e
    level = "known"
    if not campaign.power_level_known:  # relative dB without a reference: placed at the site's level (an estimate)
        campaign = contract.align_power_level(campaign, get_site(campaign.manifest["site"]).reference_p95_power_dbm)
        level = f"estimated: relative dB + {campaign.power_offset_db:.1f} dB (95th percentile at the site's level)"
        context.log.warning(f"campaign {cid}: power in relative dB without reference_dbm; {level}")
    df, time_kind = campaign.measurements, contract.time_kind(campaign.manifest)
    per_traj = df.groupby("trajectory_id")["t_s"].agg(["min", "max", "count"])
    yield Output(campaign, metadata={
        "campaign_id": cid, "site": campaign.manifest["site"], "rows": len(df),
        "trajectories": int(df["trajectory_id"].nunique()), "base_stations": len(campaign.bs_ids),
        "beams": campaign.num_beams, "duration_s": float((per_traj["max"] - per_traj["min"]).sum()),
        "power_dbm_range": MetadataValue.json([float(df["power_dbm"].min()), float(df["power_dbm"].max())]),
        "power_unit": campaign.power_unit, "power_level": level, "time_kind": time_kind,
        "temporal_methods": ("none: the campaign has no time, every sample is a trajectory of its own"
                             if time_kind == "none" else "yes"),
        "has_ground_truth_file": campaign.ground_truth_path is not None,
        "path": MetadataValue.path(str(campaign.path)),
    })
    yield checks.measurement_power_range(campaign)


@asset(group_name="ingestion", partitions_def=campaign_partitions, kinds={"numpy"},
       check_specs=[AssetCheckSpec("mask_density", asset="masked_sparse_csi", blocking=True,
                                   description="Blocks: g finite, 0 where unobserved, every sample observed "
                                               "something. Warns (does not block) under 1% density"),
                    AssetCheckSpec("trajectories_long_enough", asset="masked_sparse_csi",
                                   description="A warning, never blocks: names the trajectories shorter than the "
                                               "model's training window (recovered, but not trained on)")],
       description="Per sample the masked sparse CSI g̊ = g ⊙ m and the mask m over N_b·|W| entries (eq. (2)), "
                   "g normalized as (power_dbm - noise floor) / dynamic range (affine, never clipped).")
def masked_sparse_csi(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                      run_profile: RunProfile):
    c = raw_channel_measurements
    csi = build_masked_sparse_csi(c.measurements, c.bs_ids, c.num_beams)
    per_sample = csi.m.sum(axis=1)
    window = training_window(run_profile.at(c.manifest["site"]).get())
    lengths = pd.Series(csi.trajectory_id).value_counts(sort=False)
    short = {str(t): int(n) for t, n in lengths.items() if n < window}
    if short and contract.time_kind(c.manifest) != "none":  # without time every sample is alone: said elsewhere
        context.log.warning(f"campaign {c.campaign_id}: {len(short)} trajectory(ies) shorter than the training "
                            f"window of {window} samples (recovered, not trained on)")
    yield Output(csi, metadata={
        "samples": csi.num_samples, "entries": csi.g.shape[1], "mask_density": round(csi.mask_density, 4),
        "observed_per_sample_mean": float(per_sample.mean()),
        "samples_without_observation": int((per_sample == 0).sum()),
        "trajectories": len(csi.trajectories()),
        "trajectories_shorter_than_window": MetadataValue.json(
            {"window_samples": window, "count": len(short), "samples": int(sum(short.values())),
             "trajectories": dict(list(short.items())[:50])}),
    })
    yield checks.mask_density(csi)
    yield checks.trajectories_long_enough(short, window)


class CoarseLocationConfig(Config):
    """How ``coarse_locations`` locates each sample from its sparse CSI, label-free (ground truth is never read here;
    the paper's protocol for its tables, ground truth + noise, is the evaluation asset
    ``paper_protocol_coarse_locations``):

    - ``geometric`` (default; ours, issue 10): ``domain.geometric_locator``: the site's map and the arrays' physics,
      the observed beams' powers against the line-of-sight free-space prediction on the walkable cells, an HMM per
      trajectory, the weighted centroid as a weak prior. On San Francisco's Table I walk 46 m mean error where the
      centroid has 144 m, on its random walks 32 m against 72 m (default demo, 2026-11-28).
    - ``weighted_centroid``: the paper's section II-B (ref. [27]): weight of a base station = (its strongest observed
      beam power, linear)^(1 / ``centroid_exponent``); biased towards the base stations' centre.

    Both need at least three positioned base stations; the geometric one uses only the positioned ones."""

    method: Literal["geometric", "weighted_centroid"] = "geometric"
    centroid_exponent: float = 2.0


@asset(group_name="ingestion", partitions_def=campaign_partitions, kinds={"pandas"},
       check_specs=[AssetCheckSpec("coarse_locations_in_range", asset="coarse_locations", blocking=True,
                                   description="Blocks: finite and within 1 km of a positioned base station. Warns "
                                               "(does not block) with the reason when the campaign's base stations "
                                               "cannot locate anyone")],
       description="Coarse location p̄ per sample (section II-B) from the sparse CSI alone, label-free, what every "
                   "landed campaign gets; never reads ground truth. Default: the geometric locator (the site's map "
                   "and the arrays' physics, an HMM per trajectory, the weighted centroid as a weak prior); config "
                   "method=weighted_centroid gives the paper's weighted centroid.")
def coarse_locations(context: AssetExecutionContext, config: CoarseLocationConfig,
                     raw_channel_measurements: contract.Campaign,
                     masked_sparse_csi: MaskedSparseCSI, scene: SionnaScene):
    c, csi = raw_channel_measurements, masked_sparse_csi
    problem = coarse_location_problem(c.bs_positions[:, :2])
    power = csi.power_dbm()
    xy = weighted_centroid(power, c.bs_positions[:, :2], csi.trajectory_id, config.centroid_exponent)
    method = config.method if problem is None else "none"
    if method == "geometric":
        t0 = time.perf_counter()
        site_scene = scene.at(c.manifest["site"])
        grid = site_scene.site_grid()
        cells, los = site_scene.line_of_sight_to_cells(grid, c.bs_positions[positioned_base_stations(c.bs_positions)])
        located = np.isfinite(xy).all(axis=1)  # the centroid's weak prior; trajectories it cannot place stay NaN
        geo = campaign_geometric_locations(power, csi.trajectory_id, csi.t_s, c.manifest, c.bs_positions, cells, los,
                                           grid, site_scene.site.tx_power_dbm, coarse_xy=xy)
        xy = np.where(located[:, None], geo, np.nan)
        context.log.info(f"campaign {c.campaign_id}: geometric coarse locations of {len(xy):,} samples on "
                         f"{grid.num_cells:,} walkable cells in {time.perf_counter() - t0:.1f} s")
    df = pd.DataFrame({"trajectory_id": csi.trajectory_id, "t_s": csi.t_s, "x_m": xy[:, 0], "y_m": xy[:, 1]})
    df.attrs["method"] = method
    located = np.isfinite(xy).all(axis=1)
    if problem is not None:  # accepted for what it can serve; the model cannot train L_c on it
        context.log.warning(f"campaign {c.campaign_id}: no coarse locations: {problem}")
    elif not located.all():
        problem = (f"{int((~located).sum())} samples in trajectories where no sample heard {MIN_POSITIONED_BS} "
                   f"positioned base stations have no coarse location")
    finite = xy[located] if located.any() else np.full((1, 2), np.nan)
    yield Output(df, metadata={"method": method, "samples": len(df),
                                "samples_located": int(located.sum()),
                                "why_not_located": problem or "",
                                "x_range_m": MetadataValue.json([float(np.min(finite[:, 0])),
                                                                 float(np.max(finite[:, 0]))]),
                                "y_range_m": MetadataValue.json([float(np.min(finite[:, 1])),
                                                                 float(np.max(finite[:, 1]))])})
    yield checks.coarse_locations_in_range(df, c)
