"""Training, registering and loading back the generative beam-map model for the assets that need one (the model
group's ``beam_map_model``, every experiment's own models). Every MLflow call goes through the MLflow resource."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from dagster import AssetExecutionContext

import models
from models.beam_map.config import ModelConfig, model_config, with_loss_weights
from models.beam_map.generative_model import GenerativeBeamMapModel
from models.beam_map.persistence import BeamMapPyfuncModel, load_model_files, save_model_files
from models.beam_map.training import parameter_count, refine_decoder, train
from radiomap_assets import plots
from radiomap_assets.metadata import time_left
from radiomap_assets.domain.beam_layout import BeamLayout
from radiomap_assets.domain.grid import SiteGrid
from radiomap_assets.domain.measurement import DYNAMIC_RANGE_DB, model_input_frame
from radiomap_assets.domain.model_reference import ModelReference
from radiomap_assets.profiles import Profile, home_layout
from radiomap_assets.sites import get_site
from resources import MlflowTracker
from resources.mlflow_tracker import download_model_artifacts

REGISTERED_MODEL = "generative_beam_map"
_MODEL_CACHE: dict[str, GenerativeBeamMapModel] = {}  # registered model versions already loaded in this process


def profile_model_config(profile: Profile, num_entries: int, max_steps: int | None = None, loss_weights: str = ""):
    """The ModelConfig (models.beam_map.config) of the profile's beam-map section and its site's position scale
    (``Site.position_scale_m``), with optional overrides of the step count and loss weights."""
    section = profile.beam_map
    site = get_site(profile.scene.site)
    # the beam dimension comes from the site's codebook (|W| beams per base station: one feature-extractor token
    # per base station); until session 7 it was ModelConfig's default of 16 for every site, so the hall's 4 x 8
    # entries made 2 tokens of two transmitters each
    BeamLayout.from_entries(num_entries, site.num_beams)  # refuses entries that are not whole base stations
    sizes = {"position_scale_m": site.position_scale_m, "beams_per_bs": site.num_beams, **section.model_overrides()}
    mconfig = model_config(num_entries, sizes, section.loss_weights)
    if max_steps:
        mconfig = type(mconfig).from_dict({**mconfig.to_dict(), "max_steps": max_steps})
    if loss_weights:
        mconfig = with_loss_weights(mconfig, loss_weights)
    return mconfig


def training_window(profile: Profile) -> int:
    """Samples per training window of the profile's model (a trajectory shorter than that cannot be trained on)."""
    return int(profile.beam_map.seq_len or ModelConfig.__dataclass_fields__["seq_len"].default)


def train_and_register(context: AssetExecutionContext, mlflow_tracker: MlflowTracker, site_grid: SiteGrid, data: list,
                       mconfig, rnn_cell: str, registered_model_name: str, campaigns: list[str], versions: dict,
                       profile_name: str, tags: dict | None = None, coarse_asset: str = "coarse_locations"):
    """Train a GenerativeBeamMapModel on ``data`` (checkpointed, resumable), log it to MLflow (parameters, losses
    every 10 steps, learning curves, pyfunc model of state dict + JSON) and register a version tagged with the
    Dagster run id, the campaigns, the asset its coarse input came from and their data versions. Returns
    (reference dict, models.nn.fit.FitResult, curves PNG)."""
    from models.beam_map.training import config_fingerprint

    torch.manual_seed(mconfig.seed)
    grid = site_grid.grid
    model = GenerativeBeamMapModel(mconfig, torch.from_numpy(site_grid.cell_centres_m).float(), grid.resolution_m,
                                   rnn_cell=rnn_cell)
    n_params = parameter_count(model)
    checkpoint_dir = home_layout().root / "checkpoints" / registered_model_name
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = checkpoint_dir / f"{rnn_cell}-{config_fingerprint(mconfig, data)}.pt"
    context.log.info(f"training {registered_model_name} on {len(campaigns)} campaign(s), {len(data)} trajectories, "
                     f"{sum(len(d) for d in data):,} samples; {n_params:,} parameters; checkpoint {checkpoint}")
    tags = {"dagster_run_id": context.run_id, "campaigns": ",".join(campaigns), "profile": profile_name,
            "rnn_cell": rnn_cell, "coarse_asset": coarse_asset, **(tags or {})}
    with mlflow_tracker.run(f"{registered_model_name}-{context.run_id[:8]}", tags) as run:
        run.log_params({**mconfig.to_dict(), "parameter_count": n_params, "campaigns": ",".join(campaigns),
                        "num_cells_K": model.codebook.num_cells})
        run.log_dict(versions, "data_versions.json")
        t_last, first_step = [time.perf_counter()], []

        def on_step(step: int, row: dict) -> None:
            if not first_step:  # a resumed training starts past step 1
                first_step.append(step)
            if step % 10 == 0 or step == mconfig.max_steps:
                run.log_metrics({k: v for k, v in row.items() if k not in ("step", "seconds")}, step=step)
            if time.perf_counter() - t_last[0] > 15 or step == mconfig.max_steps:
                t_last[0] = time.perf_counter()
                left = time_left(row["seconds"], step - first_step[0] + 1, mconfig.max_steps - first_step[0] + 1)
                context.log.info(f"{registered_model_name} step {step}/{mconfig.max_steps}: total {row['total']:.3f}, "
                                 f"L_c {row['L_c']:.2f} m, L_r {row['L_r_diffusion']:.3f}, {row['seconds']:.0f} s, "
                                 f"{left}")

        result = train(model, data, checkpoint, on_step=on_step)
        if result.resumed_from:
            context.log.info(f"resumed from checkpoint at step {result.resumed_from}")
        if mconfig.decoder_refine_steps:
            t_refine = time.perf_counter()

            def on_refine(step: int, row: dict) -> None:
                if step % 10 == 0:
                    run.log_metrics({"L_r_refine": row["L_r_refine"]}, step=mconfig.max_steps + step)
                if time.perf_counter() - t_last[0] > 15 and step >= 5:  # the first steps carry the set-up
                    t_last[0] = time.perf_counter()
                    context.log.info(f"decoder refinement step {step}/{mconfig.decoder_refine_steps}, "
                                     f"{time_left(time.perf_counter() - t_refine, step, mconfig.decoder_refine_steps)}")

            refine = refine_decoder(model, data, mconfig.decoder_refine_steps, mconfig.decoder_refine_batch,
                                    on_step=on_refine, checkpoint_path=checkpoint.with_name(checkpoint.stem
                                                                                           + ".refine.pt"))
            result.wall_time_s += time.perf_counter() - t_refine
            context.log.info(f"decoder refined for {len(refine)} steps in {time.perf_counter() - t_refine:.0f} s: "
                             f"L_r {refine[0]['L_r_refine']:.3f} -> {refine[-1]['L_r_refine']:.3f}")
        curves = plots.learning_curves(result.history)
        run.log_png(curves, "learning_curves.png")
        run.log_metrics({"train_wall_time_s": result.wall_time_s, "train_samples_per_s": result.samples_per_s})
        with tempfile.TemporaryDirectory() as tmp:
            files = save_model_files(model, Path(tmp),
                                     extra={"campaigns": campaigns, "site_grid": site_grid.grid.to_dict()})
            first = data[0]  # the pyfunc's input: one row per sample, g and m as lists, rows of a trajectory in order
            example = model_input_frame(first.trajectory_id, first.g[:3], first.m[:3])
            registered = run.register_pyfunc_model(
                BeamMapPyfuncModel(), files, registered_model_name,
                version_tags={**tags, "data_versions": json.dumps(versions)},
                pip_requirements=["torch==2.13.0", "numpy", "pandas"], input_example=example,
                code_paths=[str(Path(models.__file__).resolve().parent)])
        ref = ModelReference(registered_model_name, str(registered.model_version), registered.model_uri, run.run_id,
                             mlflow_tracker.tracking_uri, list(campaigns), coarse_asset, versions, rnn_cell, n_params,
                             result.steps_done, result.wall_time_s, result.samples_per_s,
                             result.history[-1] if result.history else {})
        # the reference itself, so that a later promotion can serve this version again (``promote``)
        run.log_dict(dataclasses.asdict(ref), REFERENCE_ARTIFACT)
    _MODEL_CACHE[f"{ref.tracking_uri}|{ref.model_uri}"] = model
    return ref, result, curves


CHAMPION, CHALLENGER = "champion", "challenger"  # MLflow registry aliases
REFERENCE_ARTIFACT = "model_reference.json"
PROMOTION_SAMPLES = 20_000  # samples the label-free score reads (whole trajectories, drawn by a fixed seed)


def _scoring_subset(data: list, max_samples: int, seed: int = 0) -> list:
    order = np.random.default_rng(seed).permutation(len(data))
    out, total = [], 0
    for i in order:
        if total >= max_samples:
            break
        out.append(data[i])
        total += len(data[i])
    return out


def promote(context: AssetExecutionContext, mlflow_tracker: MlflowTracker, candidate: ModelReference,
            data: list) -> tuple[ModelReference, dict]:
    """Champion or challenger (issue 15): the new version becomes the registry alias ``champion`` only if its
    label-free validation score (``models.beam_map.validation.heldout_beam_error_db``, held-out observed beams
    explained by the model's positions, in dB) on ``data`` is no worse than the current champion's on the same data;
    otherwise it becomes ``challenger`` and the champion keeps serving. Returns the reference of the version that
    serves (what recovery and beam maps use) and the decision with both scores (also tagged on the version and
    logged to the candidate's MLflow run)."""
    from models.beam_map.validation import heldout_beam_error_db

    name = candidate.registered_model_name
    subset = _scoring_subset(data, PROMOTION_SAMPLES)
    t0 = time.perf_counter()
    cand = heldout_beam_error_db(load_registered_model(candidate), subset, DYNAMIC_RANGE_DB)
    champion_version = mlflow_tracker.alias_version(name, CHAMPION)
    champion, champ = None, None
    if champion_version is not None and champion_version != candidate.model_version:
        try:
            champion = ModelReference(**mlflow_tracker.load_run_dict(
                mlflow_tracker.version_run_id(name, champion_version), REFERENCE_ARTIFACT))
        except Exception as e:  # a champion registered before references were logged: it cannot serve again
            context.log.warning(f"champion {name} v{champion_version} has no {REFERENCE_ARTIFACT} ({e}); the new "
                                f"version replaces it")
        if champion is not None:
            champ = heldout_beam_error_db(load_registered_model(champion), subset, DYNAMIC_RANGE_DB)
    # no worse than the champion; a champion without a score (NaN) is replaced, a candidate without one never wins
    promoted = champ is None or np.isnan(champ["rmse_db"]) or cand["rmse_db"] <= champ["rmse_db"]
    alias = CHAMPION if promoted else CHALLENGER
    mlflow_tracker.set_alias(name, alias, candidate.model_version)
    decision = {"decision": alias, "candidate_version": candidate.model_version,
                "candidate_heldout_beam_rmse_db": round(cand["rmse_db"], 3),
                "champion_version": champion_version if champion is not None else None,
                "champion_heldout_beam_rmse_db": round(champ["rmse_db"], 3) if champ else None,
                "scored_samples": cand["scored_samples"], "score_seconds": round(time.perf_counter() - t0, 1),
                "serving_version": candidate.model_version if promoted else champion_version}
    mlflow_tracker.tag_version(name, candidate.model_version, {"promotion": json.dumps(decision)})
    scores = {"heldout_beam_rmse_db": cand["rmse_db"]}
    if champ:
        scores["champion_heldout_beam_rmse_db"] = champ["rmse_db"]
    mlflow_tracker.log_metrics_to_run(candidate.mlflow_run_id, scores)
    context.log.info(f"{name} v{candidate.model_version}: {alias} (held-out beams {cand['rmse_db']:.2f} dB"
                     + (f" against champion v{champion_version}'s {champ['rmse_db']:.2f} dB)" if champ else ")"))
    return (candidate if promoted else champion), decision


def load_registered_model(ref: ModelReference) -> GenerativeBeamMapModel:
    """The model version named in ``ref``, loaded back from the MLflow registry (state dict + description)."""
    return load_model_version(ref.tracking_uri, ref.model_uri)


def load_model_version(tracking_uri: str, model_uri: str) -> GenerativeBeamMapModel:
    """A registered model version (``models:/<name>/<version>``) of the MLflow store at ``tracking_uri``; loaded once
    per process: callers that change the model (a decoder refinement) work on a copy."""
    key = f"{tracking_uri}|{model_uri}"
    if key not in _MODEL_CACHE:
        local = download_model_artifacts(tracking_uri, model_uri)
        _MODEL_CACHE[key] = load_model_files(local / "state_dict.pt", local / "model.json")
    return _MODEL_CACHE[key]
