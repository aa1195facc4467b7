"""What the evaluation group's asset modules share (no asset is defined here): the experiments' budgets and
configuration, each experiment's training and test trajectories, and their ground truth (scoring only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.beam_map.training import TrajectoryData
from radiomap_assets import storage
from radiomap_assets.assets.model_registry import profile_model_config
from radiomap_assets.assets.shared import load_training_data
from radiomap_assets.domain import campaign as contract
from radiomap_assets.experiments import COARSE_ASSET, EXPERIMENTS, PARTICIPANTS, CampaignTruth
from radiomap_assets.profiles import Profile

GROUP = "evaluation"


# Table I (paper protocol), its production twin and Table III (the indoor headline) always train with the profile's
# full budget, as the model group's model does (on smoke too, since the tests score them); the other experiments'
# budgets are the profile's beam-map section's (side_experiment_steps, budget_scale)
FULL_BUDGET_EXPERIMENTS = ("table1", "table1_production", "table3")


def experiment_model_steps(profile: Profile, exp: str, configured: int | None, num_entries: int) -> int:
    """Steps of experiment ``exp``'s own models (proposed, its variants, the LSTM): ``configured``
    (the evaluation's model_steps, ExperimentBudgets) when set, else the profile's budget
    (radiomap_assets.profiles.BeamMapSection)."""
    if configured:
        return int(configured)
    section = profile.beam_map
    base = profile_model_config(profile, num_entries).max_steps
    if exp not in FULL_BUDGET_EXPERIMENTS and section.side_experiment_steps:
        base = section.side_experiment_steps
    return int(round(base * dict(section.budget_scale).get(exp, 1.0)))


@dataclass(frozen=True)
class ExperimentBudgets:
    """Budgets of the models the experiments train (None = the profile's). Set once, in experiment_campaigns'
    config (EvaluationSelection), and carried in its value to every method asset."""

    model_steps: int | None = None  # proposed / LSTM training steps per experiment
    chart_steps: int | None = None  # channel-charting baselines' steps
    labelled_samples: int = 500  # Semi-CC-GT's ground-truth labels (paper: 500)


def budgets_of(experiment_campaigns: dict) -> ExperimentBudgets:
    """The evaluation's budgets, as experiment_campaigns was configured."""
    return ExperimentBudgets(**experiment_campaigns.get("budgets", {}))


def truth_of(cid: str, data: list[TrajectoryData]) -> CampaignTruth:
    """Ground truth aligned with ``data`` (evaluation and the Semi-CC-GT labels only)."""
    gt = contract.read_ground_truth(storage.load_partition("raw_channel_measurements", cid))
    gt = gt.astype({"trajectory_id": str}).sort_values(["trajectory_id", "t_s"])
    los_cols = [c for c in gt.columns if c.startswith("los_bs_")]
    xy, los = [], []
    for d in data:
        g = gt[gt["trajectory_id"] == d.trajectory_id.split("/", 1)[1]]
        if len(g) != len(d) or not np.allclose(g["t_s"].to_numpy(), d.t_s):
            raise ValueError(f"ground truth of {d.trajectory_id} does not match its measurements")
        xy.append(g[["x_m", "y_m"]].to_numpy())
        los.append(g[los_cols].to_numpy().astype(bool))
    return CampaignTruth(xy, los)


def coarse_asset_of(campaigns: dict, exp: str) -> str:
    """The asset whose coarse locations experiment ``exp`` feeds its methods (as recorded by experiment_campaigns)."""
    return campaigns.get("coarse_asset", {}).get(exp) or COARSE_ASSET[exp]


def experiment_data(campaigns: dict, exp: str) -> tuple[list[TrajectoryData], list[TrajectoryData]]:
    """(training trajectories, test trajectories), their coarse locations from the experiment's coarse asset
    (``experiments.EXPERIMENTS``). Every experiment but Table II is transductive, as in the paper: a method learns
    from the unlabeled campaign and recovers that campaign; Fig. 10's experiments use only the first whole
    trajectories that hold their share of the samples (``Experiment.sample_share``)."""
    cid = campaigns["experiments"][exp]
    data = load_training_data([cid], coarse_asset_of(campaigns, exp))
    share = EXPERIMENTS[exp].sample_share if exp in EXPERIMENTS else 1.0
    if share < 1.0:
        data = first_share_of_samples(data, share)
    if exp != "table2":
        return data, data
    split = campaigns["table2_split"]
    test_ids = {f"{cid}/{t}" for t in split["test"]}
    return [d for d in data if d.trajectory_id not in test_ids], [d for d in data if d.trajectory_id in test_ids]


def first_share_of_samples(data: list[TrajectoryData], share: float) -> list[TrajectoryData]:
    """The first whole trajectories of ``data`` that hold ``share`` of its samples (at least one trajectory)."""
    total = sum(len(d) for d in data)
    out, n = [], 0
    for d in data:
        if out and n + len(d) / 2 > share * total:  # the trajectory that crosses the share goes in if mostly inside
            break
        out.append(d)
        n += len(d)
    return out


def experiments_for(method: str, campaigns: dict) -> list[str]:
    """The experiments ``method`` runs in: those it participates in (PARTICIPANTS), none where the evaluation's
    selection (``campaigns["methods"]``, None = all; "<experiment>/<method>" selects it in one experiment) leaves it
    out."""
    chosen = campaigns.get("methods")
    return [e for e in campaigns["experiments"] if method in PARTICIPANTS.get(e, ())
            and (chosen is None or method in chosen or f"{e}/{method}" in chosen)]
