"""Site, model and inference groups: the walkable grid X, the trained generative model (MLflow), recovered
trajectories per campaign and the generated beam map (Zarr)."""

import time
from typing import Literal

import numpy as np
import pandas as pd
from dagster import (AllPartitionMapping, AssetCheckResult, AssetCheckSpec, AssetDep, AssetExecutionContext, AssetIn,
                     AssetOut, Config, DataVersion, MetadataValue, Output, asset, multi_asset)

from models.beam_map.training import decode_beam_map, recover_trajectory, trajectories_shorter_than
from radiomap_assets import checks, metadata, plots, storage
from radiomap_assets.automation import REFRESH_TAG, beam_maps_condition, recovered_trajectories_condition
from radiomap_assets.assets.model_registry import (CHAMPION, REGISTERED_MODEL, load_registered_model,
                                                   profile_model_config, promote, train_and_register)
from radiomap_assets.assets.shared import (campaign_partitions, campaign_site, campaigns_of_site, generative_map_name,
                                           load_training_data, site_partitions, without_coarse_locations)
from radiomap_assets.domain.beam_layout import BeamLayout
from radiomap_assets.domain.codebook import codebook_beam_directions
from radiomap_assets.domain.beam_map_store import beam_map_dataset, flag_attrs
from radiomap_assets.domain.grid import SiteGrid
from radiomap_assets.domain.model_reference import ModelReference
from radiomap_assets.domain.measurement import MaskedSparseCSI, denormalize_power
from radiomap_assets.domain.trajectory_store import write_recovered_trajectories
from radiomap_assets.profiles import home_layout
from resources import BeamMapStore, MlflowTracker, RunProfile, SionnaScene

RECOVERED_TRAJECTORIES_DESCRIPTION = (
    "Recovered trajectory per campaign: p̂ per sample (eq. (14)) and the most likely grid cell (eq. (17)), from the "
    "champion model of the campaign's site (beam_map_model's partition of that site); also written for analysts as "
    "$RADIOMAP_HOME/trajectories/<campaign>.parquet (metadata parquet_path). Refreshed by itself when the campaign's "
    "inputs land or a new champion serves (radiomap_assets.automation); its data version names both.")

@asset(group_name="site", partitions_def=site_partitions, kinds={"numpy"},
       description="The discretized region X at the site's model grid resolution (paper: 5 m outdoors, 0.5 m "
                   "indoors) and its walkable cells, from the scene geometry (no measurement, no ground truth): K = "
                   "number of walkable cells.")
def site_grid(context: AssetExecutionContext, scene: SionnaScene) -> Output[SiteGrid]:
    value = scene.at(context.partition_key).site_grid()
    grid = value.grid
    return Output(value, metadata={"cells_K": value.num_cells, "grid_shape": list(grid.shape),
                                   "resolution_m": grid.resolution_m,
                                   "walkable_share": round(float(value.walkable.mean()), 4)})


class TrainingConfig(Config):
    """``campaigns``: campaign partitions to train on (empty = every campaign of the partition's site with ingested
    CSI and coarse locations). ``max_steps``: override of the profile's step count. ``rnn_cell``: gru (proposed) or
    lstm. ``loss_weights``: override of the profile's (λ_c, λ_t, λ_d) preset, one of
    models.beam_map.config.LOSS_WEIGHTS. ``registered_model_name``: "" = generative_beam_map_<site>."""

    campaigns: list[str] = []
    max_steps: int | None = None
    loss_weights: str = ""  # "" = the profile's; else paper_outdoor, paper_indoor or cpu_budget
    rnn_cell: Literal["gru", "lstm"] = "gru"
    registered_model_name: str = ""


@asset(group_name="model", partitions_def=site_partitions,
       deps=[AssetDep("masked_sparse_csi", partition_mapping=AllPartitionMapping()),
             AssetDep("coarse_locations", partition_mapping=AllPartitionMapping())],
       kinds={"pytorch", "mlflow"},
       description="Encoder, radio-map codebook and diffusion decoder (paper section III) of one site, trained on "
                   "the site's selected campaigns' masked sparse CSI and production coarse locations (label-free, "
                   "the geometric locator by default) only, logged and registered in MLflow as "
                   "generative_beam_map_<site>.")
def beam_map_model(context: AssetExecutionContext, config: TrainingConfig, site_grid: SiteGrid,
                   mlflow_tracker: MlflowTracker, run_profile: RunProfile) -> Output[ModelReference]:
    site = context.partition_key
    run_profile = run_profile.at(site)
    ingested = storage.materialized_campaigns(context.instance, "masked_sparse_csi", "coarse_locations")
    campaigns = config.campaigns or campaigns_of_site(ingested, site)
    if not campaigns:
        raise ValueError(f"no campaign of site {site!r} has masked_sparse_csi and coarse_locations materialized: "
                         f"ingest one first")
    foreign = sorted(c for c in campaigns if c in ingested and campaign_site(c) != site)
    if foreign:
        raise ValueError(f"campaign(s) {foreign} belong to another site than {site!r}: a site's model trains on its "
                         f"own campaigns only")
    missing = [c for c in campaigns if not storage.partition_path("masked_sparse_csi", c).exists()]
    if missing:
        raise ValueError(f"campaign(s) {missing} have no ingested masked_sparse_csi; known: "
                         f"{storage.materialized_campaigns(context.instance, 'masked_sparse_csi', 'coarse_locations')}")
    data, no_coarse = without_coarse_locations(load_training_data(campaigns))
    if no_coarse:  # said, not dropped silently (their recovered trajectories still come from the trained model)
        context.log.warning(f"{len(no_coarse)} trajectory(ies) have no coarse locations and are not trained on: "
                            f"{', '.join(no_coarse[:10])}{' ...' if len(no_coarse) > 10 else ''}")
    if not data:
        raise ValueError(f"none of the campaigns {campaigns} has coarse locations to train on (see each campaign's "
                         f"coarse_locations metadata for why)")
    versions = {c: {a: storage.content_version(a, c) for a in ("masked_sparse_csi", "coarse_locations")}
                for c in campaigns}
    mconfig = profile_model_config(run_profile.get(), data[0].g.shape[1], config.max_steps, config.loss_weights)
    short = trajectories_shorter_than(data, mconfig.seq_len)
    if short:  # said, not dropped silently: their samples are still recovered, the training cannot draw windows there
        context.log.warning(f"{len(short)} trajectory(ies) shorter than the training window of {mconfig.seq_len} "
                            f"samples are not trained on ({sum(short.values())} samples): "
                            f"{', '.join(list(short)[:10])}{' ...' if len(short) > 10 else ''}")
    name = config.registered_model_name or f"{REGISTERED_MODEL}_{site}"
    trained, result, curves = train_and_register(context, mlflow_tracker, site_grid, data, mconfig,
                                                 config.rnn_cell, name, campaigns, versions, run_profile.name)
    ref, decision = promote(context, mlflow_tracker, trained, data)  # the champion serves, not the newest
    # the data version is the serving version: a challenger leaves it as it was, a new champion changes it and
    # refreshes the site's beam map and recovered trajectories (radiomap_assets.automation)
    return Output(ref, data_version=DataVersion(f"{ref.registered_model_name}/{ref.model_version}"), metadata={
        "promotion": metadata.as_json(decision), "trained_version": trained.model_version,
        "mlflow_run": MetadataValue.url(mlflow_tracker.run_url(ref.mlflow_run_id)),
        "registered_model": MetadataValue.text(f"{name} version {trained.model_version}"),
        "serving_model": MetadataValue.text(f"{name} version {ref.model_version} (alias {CHAMPION})"), "site": site,
        "parameter_count": ref.parameter_count, "campaigns": MetadataValue.json(campaigns),
        "train_wall_time_s": round(result.wall_time_s, 1), "train_samples_per_s": round(result.samples_per_s, 1),
        "steps": result.steps_done, "resumed_from_step": result.resumed_from, "device": result.device,
        "trajectories_without_coarse_locations": MetadataValue.json(no_coarse[:50]),
        "trajectories_shorter_than_window": MetadataValue.json(
            {"window_samples": mconfig.seq_len, "count": len(short), "samples": int(sum(short.values())),
             "trajectories": dict(list(short.items())[:50])}),
        "learning_curves": MetadataValue.md(plots.markdown_image(curves, "learning curves")),
    })


def trajectories_data_version(model: ModelReference, campaign: str) -> str:
    """What a campaign's recovered trajectories are a function of: the serving model version and the content of the
    campaign's masked sparse CSI and coarse locations (their data version: the same means nothing to recompute)."""
    inputs = "/".join(storage.content_version(a, campaign) for a in ("masked_sparse_csi", "coarse_locations"))
    return f"{model.registered_model_name}/{model.model_version}/{inputs}"


@multi_asset(outs={"result": AssetOut(key="recovered_trajectories", group_name="inference", kinds={"pandas"},
                                      is_required=False, automation_condition=recovered_trajectories_condition(),
                                      description=RECOVERED_TRAJECTORIES_DESCRIPTION)},
             partitions_def=campaign_partitions, can_subset=True, name="recovered_trajectories",
             ins={"masked_sparse_csi": AssetIn(), "coarse_locations": AssetIn()},
             deps=[AssetDep("beam_map_model", partition_mapping=AllPartitionMapping())],
             check_specs=[AssetCheckSpec("recovered_smoother_than_coarse_input", asset="recovered_trajectories",
                                         description="A warning, never blocks; label-free: says nothing about "
                                                     "accuracy. Mean |second difference| of the recovered trajectory "
                                                     "is below its coarse input's (accuracy: "
                                                     "recovered_closer_than_coarse_input on "
                                                     "recovered_trajectory_accuracy)")])
def recovered_trajectories(context: AssetExecutionContext, masked_sparse_csi: MaskedSparseCSI,
                           coarse_locations: pd.DataFrame, mlflow_tracker: MlflowTracker):
    cid = context.partition_key
    site = campaign_site(cid)
    automated = context.run.tags.get(REFRESH_TAG) is not None
    try:
        beam_map_model: ModelReference = storage.load_site_asset("beam_map_model", site)
    except FileNotFoundError:
        if not automated:
            raise
        context.log.info(f"{cid}: site {site!r} has no champion model yet; its trajectories are recovered when one "
                         f"is promoted (train_model)")
        return
    version = trajectories_data_version(beam_map_model, cid)
    if automated and storage.latest_data_version(context.instance, "recovered_trajectories", cid) == version:
        context.log.info(f"{cid}: trajectories already recovered with {beam_map_model.model_uri} from the same "
                         f"inputs; nothing to do")
        return
    model = load_registered_model(beam_map_model)
    csi = masked_sparse_csi
    parts = []
    centres = model.codebook.cell_centres_m.numpy()
    for tid in csi.trajectories():
        sel = csi.trajectory_id == tid
        xy, cells = recover_trajectory(model, csi.g[sel], csi.m[sel])
        parts.append(pd.DataFrame({"trajectory_id": tid, "t_s": csi.t_s[sel], "x_m": xy[:, 0], "y_m": xy[:, 1],
                                   "cell": cells, "cell_x_m": centres[cells, 0], "cell_y_m": centres[cells, 1]}))
    df = pd.concat(parts, ignore_index=True)
    parquet = write_recovered_trajectories(df, home_layout().trajectories, cid, beam_map_model)
    # not "path": the IO manager writes its pickle's path under that key
    yield Output(df, output_name="result", data_version=DataVersion(version), metadata={
        "parquet_path": MetadataValue.path(str(parquet)), "samples": len(df),
        "trajectories": int(df["trajectory_id"].nunique()), "model": MetadataValue.text(beam_map_model.model_uri),
        "site": site, "model_version": MetadataValue.text(str(beam_map_model.model_version)),
        "mlflow_run_id": MetadataValue.text(beam_map_model.mlflow_run_id),
        "mlflow_run": MetadataValue.url(mlflow_tracker.run_url(beam_map_model.mlflow_run_id)),
        "mean_second_difference_m": metadata.as_json({"recovered": checks.mean_second_difference(df),
                                                      "coarse": checks.mean_second_difference(coarse_locations)})})
    yield checks.recovered_smoother_than_coarse_input(df, coarse_locations)


class BeamMapConfig(Config):
    samples_per_cell: int = 2  # per visited cell, 20 DDIM steps each (all 12,006 default cells x 2: about 3 min)
    sampler: Literal["ddim", "ddpm"] = "ddim"
    steps: int | None = None  # DDIM steps (None = the model's ddim_steps)


@asset(group_name="inference", partitions_def=site_partitions, kinds={"zarr"},
       automation_condition=beam_maps_condition(),
       check_specs=[AssetCheckSpec("beam_map_shape_and_nan_pattern", asset="beam_maps", blocking=True,
                                   description="Blocks: dims (bs, beam, y, x); finite exactly on the walkable cells "
                                               "a training trajectory visited (codebook_visited)")],
       description="Beam map of the generative decoder (design 3.2): every visited cell's codebook vector decoded "
                   "into the full CSI, several diffusion samples per cell (mean power_dbm, spread power_std_db); "
                   "NaN where no training trajectory went (codebook_visited). One Zarr version per run, listed in "
                   "the map's catalogue.parquet.")
def beam_maps(context: AssetExecutionContext, config: BeamMapConfig, beam_map_model: ModelReference,
              site_grid: SiteGrid,
              scene: SionnaScene, beam_map_store: BeamMapStore, run_profile: RunProfile):
    scene = scene.at(context.partition_key)
    model = load_registered_model(beam_map_model)
    t0 = time.perf_counter()
    last = [t0]

    def progress(done, total):
        if time.perf_counter() - last[0] > 15:
            last[0] = time.perf_counter()
            context.log.info(f"decoded {done:,}/{total:,} cell samples, "
                             f"{metadata.time_left(time.perf_counter() - t0, done, total)}")

    # only the cells a training trajectory visited are decoded: the others stay NaN below (decoding all 12,006
    # walkable cells of the default site and discarding most took 184 s of a 20-min demo)
    visited = model.codebook.visited().numpy()
    cells = np.nonzero(visited)[0]
    mean_g = np.full((len(visited), model.config.num_entries), np.nan, dtype=np.float32)
    std_db = np.full_like(mean_g, np.nan)
    if cells.size:
        mean_g[cells], std_db[cells], _ = decode_beam_map(model, config.samples_per_cell, config.sampler,
                                                          config.steps, cells=cells, on_progress=progress)
    mean_dbm = denormalize_power(mean_g)  # the decoder works on the normalized g of the measurement module
    decode_s = time.perf_counter() - t0
    grid = site_grid.grid
    walkable = site_grid.walkable
    campaign0 = beam_map_model.campaigns[0]
    campaign = storage.load_partition("raw_channel_measurements", campaign0)
    bss = [{"bs_id": b["bs_id"], "x_m": b["x_m"], "y_m": b["y_m"], "z_m": b["z_m"],
            "yaw_deg": b.get("yaw_deg", b.get("orientation_yaw_deg", 0.0))} for b in campaign.manifest["base_stations"]]
    layout = BeamLayout(len(bss), campaign.num_beams)
    power = np.full((layout.num_bs, layout.beams_per_bs) + grid.shape, np.nan, dtype=np.float32)
    std = np.full_like(power, np.nan)
    iy, ix = np.nonzero(walkable)
    power[:, :, iy, ix] = layout.per_bs(mean_dbm.T, axis=0)
    std[:, :, iy, ix] = layout.per_bs(std_db.T, axis=0)
    trained = np.zeros(grid.shape, bool)
    trained[iy, ix] = visited
    # a cell no trajectory visited has no codebook vector of its own: no value, never a copy of another cell's
    power[:, :, ~trained], std[:, :, ~trained] = np.nan, np.nan
    attrs = {"title": "beam map of the generative decoder", "scene": scene.site.scene, "site": scene.site.name,
             "model_name": beam_map_model.registered_model_name, "model_version": beam_map_model.model_version,
             "mlflow_run_id": beam_map_model.mlflow_run_id, "mlflow_tracking_uri": beam_map_model.tracking_uri,
             "dagster_run_id": context.run_id, "campaigns": ",".join(beam_map_model.campaigns),
             "carrier_frequency_hz": float(campaign.manifest["carrier_frequency_hz"]),
             "sampler": config.sampler, "samples_per_cell": config.samples_per_cell, "profile": run_profile.name,
             "codebook": scene.site.codebook_type, "beams_vertical": scene.site.codebook_shape[0],
             "beams_horizontal": scene.site.codebook_shape[1],
             "codebook_policy": "power_dbm and power_std_db are NaN on walkable cells no training trajectory "
                                "visited (codebook_visited = False): the model learned no codebook vector there"}
    extra = {"codebook_visited": (("y", "x"), trained,
                                  flag_attrs("a training trajectory visited the cell: its codebook vector was trained",
                                             "not_visited visited"))}
    directions = codebook_beam_directions(campaign.manifest["codebook"],
                                          int(campaign.manifest["base_stations"][0]["num_antennas"]))
    ds = beam_map_dataset(power, grid, bss, walkable, attrs, power_std_db=std, extra=extra,
                          beam_directions=directions)
    path = beam_map_store.write(ds, generative_map_name(scene.site.name))
    png = plots.beam_maps_of_base_station(ds, 0)
    ok_dims = ds.power_dbm.dims == ("bs", "beam", "y", "x")
    ok_nan = bool((np.isfinite(power) == trained[None, None]).all())
    # not "path": the IO manager writes its pickle's path under that key
    yield Output(str(path), metadata={
        "zarr_path": MetadataValue.path(str(path)),
        "catalogue_path": MetadataValue.path(str(beam_map_store.catalogue_path(generative_map_name(scene.site.name)))),
        "version": MetadataValue.text(ds.attrs["version"]), "decode_s": round(decode_s, 1),
        "cells": int(walkable.sum()), "visited_cells_share": metadata.significant(visited.mean(), 3),
        "model": MetadataValue.text(beam_map_model.model_uri),
        "bs0_beams": MetadataValue.md(plots.markdown_image(png, "generated beam maps of base station 0"))})
    yield AssetCheckResult(check_name="beam_map_shape_and_nan_pattern", passed=ok_dims and ok_nan,
                           metadata={"dims_ok": ok_dims, "finite_exactly_on_visited_cells": ok_nan})
