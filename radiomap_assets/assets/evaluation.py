"""Evaluation group: the only assets that read ground truth. Per campaign: the coarse locations' and the
recovered trajectory's localization error (mean, 95th percentile), overall and LOS/NLOS."""

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from radiomap_assets import plots
from radiomap_assets.assets.ingestion import campaign_partitions
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.metrics import localization_summary


def accuracy_against_ground_truth(campaign: contract.Campaign, estimate: pd.DataFrame) -> dict:
    """Localization error of ``estimate`` (trajectory_id, t_s, x_m, y_m) against the campaign's ground truth,
    overall and split by LOS to at least one base station. Empty dict when the campaign has no ground truth."""
    if campaign.ground_truth_path is None:
        return {}
    gt = contract.read_ground_truth(campaign).astype({"trajectory_id": str})
    merged = estimate[["trajectory_id", "t_s", "x_m", "y_m"]].astype({"trajectory_id": str}).merge(
        gt, on=["trajectory_id", "t_s"], suffixes=("", "_true"), how="inner")
    if merged.empty:
        raise ValueError(f"no sample of the estimate matches the ground truth of {campaign.campaign_id}")
    summary = localization_summary(merged[["x_m", "y_m"]].to_numpy(), merged[["x_m_true", "y_m_true"]].to_numpy())
    los_cols = [col for col in merged.columns if col.startswith("los_bs_")]
    if los_cols:
        any_los = merged[los_cols].to_numpy().any(axis=1)
        summary["los_share"] = float(any_los.mean())
        for name, sel in (("los", any_los), ("nlos", ~any_los)):
            if sel.any():
                s = localization_summary(merged.loc[sel, ["x_m", "y_m"]].to_numpy(),
                                         merged.loc[sel, ["x_m_true", "y_m_true"]].to_numpy())
                summary[f"{name}_mean_error_m"], summary[f"{name}_p95_error_m"] = s["mean_error_m"], s["p95_error_m"]
    return summary


def _rounded(d: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="Error of the coarse locations against the campaign's ground truth (mean, 95th percentile).")
def coarse_location_accuracy(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                             coarse_locations: pd.DataFrame) -> Output[dict]:
    summary = accuracy_against_ground_truth(raw_channel_measurements, coarse_locations)
    if summary:
        summary["method"] = str(coarse_locations.attrs.get("method", ""))
    return Output(summary, metadata=_rounded(summary) or {"skipped": "campaign has no ground_truth.parquet"})


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="Recovered trajectory against ground truth, beside the coarse input it came from.")
def recovered_trajectory_accuracy(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                                  coarse_locations: pd.DataFrame, recovered_trajectories: pd.DataFrame) -> Output[dict]:
    c = raw_channel_measurements
    rec = accuracy_against_ground_truth(c, recovered_trajectories)
    if not rec:
        return Output({}, metadata={"skipped": "campaign has no ground_truth.parquet"})
    coarse = accuracy_against_ground_truth(c, coarse_locations)
    out = {"recovered": rec, "coarse": coarse, "coarse_method": str(coarse_locations.attrs.get("method", "")),
           "mean_error_ratio_recovered_over_coarse": rec["mean_error_m"] / max(coarse["mean_error_m"], 1e-9)}
    gt = contract.read_ground_truth(c)
    first = gt["trajectory_id"].astype(str).iloc[0]
    tracks = {"coarse input": coarse_locations[coarse_locations["trajectory_id"].astype(str) == first][["x_m", "y_m"]].to_numpy(),
              "ground truth": gt[gt["trajectory_id"].astype(str) == first][["x_m", "y_m"]].to_numpy(),
              "recovered": recovered_trajectories[recovered_trajectories["trajectory_id"].astype(str) == first][["x_m", "y_m"]].to_numpy()}
    xy = np.concatenate(list(tracks.values()))
    lo, hi = xy.min(axis=0) - 20, xy.max(axis=0) + 20
    png = plots.trajectories_plot(np.zeros((2, 2)), (lo[0], hi[0], lo[1], hi[1]), tracks, f"{c.campaign_id}: {first}")
    table = pd.DataFrame([{"estimate": "coarse input", **_rounded(coarse)}, {"estimate": "recovered", **_rounded(rec)}])
    return Output(out, metadata={
        "recovered_mean_error_m": round(rec["mean_error_m"], 3), "recovered_p95_error_m": round(rec["p95_error_m"], 3),
        "coarse_mean_error_m": round(coarse["mean_error_m"], 3), "coarse_p95_error_m": round(coarse["p95_error_m"], 3),
        "table": MetadataValue.md(table.to_markdown(index=False)),
        "trajectory": MetadataValue.md(plots.markdown_image(png, "trajectory"))})
