"""Evaluation group: the only assets that read ground truth. Per campaign: the paper's coarse-input protocol
(ground truth + Gaussian noise, an input of the paper's tables, never of production), the coarse locations' and
the recovered trajectory's localization error (mean, 95th percentile), overall and LOS/NLOS, and the check that the
recovered trajectory is closer to the truth than its coarse input."""

import numpy as np
import pandas as pd
from dagster import (AssetCheckSpec, AssetExecutionContext, Config, Failure, MetadataValue, Output, asset)

from radiomap_assets import checks, plots
from radiomap_assets.assets.shared import campaign_partitions
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.localization import noisy_ground_truth, weighted_centroid
from radiomap_assets.domain.measurement import MaskedSparseCSI
from radiomap_assets.domain.metrics import localization_summary
from radiomap_assets.sites import get_site

PAPER_PROTOCOL_METHOD = "paper_noisy_ground_truth"


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


class PaperProtocolConfig(Config):
    """The paper's coarse input (section IV-A): ground truth plus N(0, ``noise_variance_m2``) per coordinate, drawn
    with ``seed``; None = the protocol of the campaign's site (radiomap_assets.sites: 400 m^2 outdoor, the paper's
    indoor 25 m^2)."""

    noise_variance_m2: float | None = None
    seed: int = 0


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="The paper's coarse-input protocol for its tables: ground truth + N(0, σ²) per coordinate (the "
                   "campaign's site's: 400 m^2 in San Francisco), "
                   "one row per sample of masked_sparse_csi (same shape as coarse_locations). Reads ground truth: "
                   "an input of the evaluation's experiments only, never of production assets.")
def paper_protocol_coarse_locations(context: AssetExecutionContext, config: PaperProtocolConfig,
                                    raw_channel_measurements: contract.Campaign,
                                    masked_sparse_csi: MaskedSparseCSI) -> Output[pd.DataFrame]:
    c, csi = raw_channel_measurements, masked_sparse_csi
    if c.ground_truth_path is None:
        raise Failure(description=f"campaign {c.campaign_id} has no {contract.GROUND_TRUTH}: the paper's protocol "
                                  "needs ground truth (simulated campaigns only)")
    gt = contract.read_ground_truth(c)
    keyed = pd.DataFrame({"trajectory_id": csi.trajectory_id, "t_s": csi.t_s})
    merged = keyed.merge(gt[["trajectory_id", "t_s", "x_m", "y_m"]].astype({"trajectory_id": str}),
                         on=["trajectory_id", "t_s"], how="left")
    if merged[["x_m", "y_m"]].isna().any().any():
        raise Failure(description=f"{contract.GROUND_TRUTH} of {c.campaign_id} lacks positions for "
                                  f"{int(merged['x_m'].isna().sum())} samples")
    variance = config.noise_variance_m2
    if variance is None:
        try:
            variance = get_site(str(c.manifest.get("site", ""))).coarse_noise_variance_m2
        except ValueError as err:
            raise Failure(description=f"campaign {c.campaign_id}: {err}; set noise_variance_m2 in the config") from err
    xy = noisy_ground_truth(merged[["x_m", "y_m"]].to_numpy(), variance, config.seed)
    df = pd.DataFrame({"trajectory_id": csi.trajectory_id, "t_s": csi.t_s, "x_m": xy[:, 0], "y_m": xy[:, 1]})
    df.attrs["method"] = PAPER_PROTOCOL_METHOD
    df.attrs["noise_variance_m2"] = variance
    return Output(df, metadata={"method": PAPER_PROTOCOL_METHOD, "samples": len(df),
                                "noise_variance_m2": variance, "seed": config.seed})


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="The paper's own label-free coarse input (section II-B, ref. [27]): the weighted centroid of the "
                   "base-station positions, as coarse_locations computes it with method=weighted_centroid. A "
                   "comparison input of the evaluation (experiment table1_centroid: its floors beside the production "
                   "geometric input), never of production assets. Reads no ground truth.")
def centroid_coarse_locations(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                              masked_sparse_csi: MaskedSparseCSI) -> Output[pd.DataFrame]:
    c, csi = raw_channel_measurements, masked_sparse_csi
    xy = weighted_centroid(csi.power_dbm(), c.bs_positions[:, :2], csi.trajectory_id)
    df = pd.DataFrame({"trajectory_id": csi.trajectory_id, "t_s": csi.t_s, "x_m": xy[:, 0], "y_m": xy[:, 1]})
    df.attrs["method"] = "weighted_centroid"
    return Output(df, metadata={"method": "weighted_centroid", "samples": len(df),
                                "samples_located": int(np.isfinite(xy).all(axis=1).sum())})


def _coarse_accuracy(campaign: contract.Campaign, coarse: pd.DataFrame) -> Output[dict]:
    summary = accuracy_against_ground_truth(campaign, coarse)
    if summary:
        summary["method"] = str(coarse.attrs.get("method", ""))
    return Output(summary, metadata=_rounded(summary) or {"skipped": "campaign has no ground_truth.parquet"})


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="Error of the production coarse locations (label-free; the geometric locator by default) "
                   "against the campaign's ground truth (mean, 95th percentile).")
def coarse_location_accuracy(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                             coarse_locations: pd.DataFrame) -> Output[dict]:
    return _coarse_accuracy(raw_channel_measurements, coarse_locations)


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       description="Error of the paper's protocol coarse input (ground truth + noise) against ground truth.")
def paper_protocol_coarse_accuracy(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                                   paper_protocol_coarse_locations: pd.DataFrame) -> Output[dict]:
    return _coarse_accuracy(raw_channel_measurements, paper_protocol_coarse_locations)


@asset(group_name="evaluation", partitions_def=campaign_partitions, kinds={"pandas"},
       check_specs=[AssetCheckSpec("recovered_closer_than_coarse_input", asset="recovered_trajectory_accuracy",
                                   description="Where ground truth exists: the recovered trajectory's mean error "
                                               "is below its coarse input's (fails, severity ERROR, when it is not; "
                                               "passes with a note without ground truth). Not blocking, and no bad "
                                               "data flows on: no asset reads the accuracy it checks, and the run "
                                               "finishes so that the failure is seen")],
       description="Recovered trajectory against ground truth, beside the coarse input it came from (the production "
                   "coarse_locations the model group trains on).")
def recovered_trajectory_accuracy(context: AssetExecutionContext, raw_channel_measurements: contract.Campaign,
                                  coarse_locations: pd.DataFrame, recovered_trajectories: pd.DataFrame):
    c = raw_channel_measurements
    rec = accuracy_against_ground_truth(c, recovered_trajectories)
    if not rec:
        yield Output({}, metadata={"skipped": "campaign has no ground_truth.parquet"})
        yield checks.recovered_closer_than_coarse_input({})
        return
    coarse = accuracy_against_ground_truth(c, coarse_locations)
    out = {"recovered": rec, "coarse": coarse, "coarse_method": str(coarse_locations.attrs.get("method", "")),
           "mean_error_ratio_recovered_over_coarse": rec["mean_error_m"] / max(coarse["mean_error_m"], 1e-9)}
    gt = contract.read_ground_truth(c)
    first = gt["trajectory_id"].astype(str).iloc[0]
    def first_track(df: pd.DataFrame) -> np.ndarray:
        return df[df["trajectory_id"].astype(str) == first][["x_m", "y_m"]].to_numpy()

    tracks = {"coarse input": first_track(coarse_locations),
              "ground truth": gt[gt["trajectory_id"].astype(str) == first][["x_m", "y_m"]].to_numpy(),
              "recovered": first_track(recovered_trajectories)}
    xy = np.concatenate(list(tracks.values()))
    lo, hi = xy.min(axis=0) - 20, xy.max(axis=0) + 20
    png = plots.trajectories_plot(np.zeros((2, 2)), (lo[0], hi[0], lo[1], hi[1]), tracks, f"{c.campaign_id}: {first}")
    table = pd.DataFrame([{"estimate": "coarse input", **_rounded(coarse)}, {"estimate": "recovered", **_rounded(rec)}])
    yield Output(out, metadata={
        "recovered_mean_error_m": round(rec["mean_error_m"], 3), "recovered_p95_error_m": round(rec["p95_error_m"], 3),
        "coarse_mean_error_m": round(coarse["mean_error_m"], 3), "coarse_p95_error_m": round(coarse["p95_error_m"], 3),
        "coarse_method": out["coarse_method"], "table": MetadataValue.md(table.to_markdown(index=False)),
        "trajectory": MetadataValue.md(plots.markdown_image(png, "trajectory"))})
    yield checks.recovered_closer_than_coarse_input(out)
