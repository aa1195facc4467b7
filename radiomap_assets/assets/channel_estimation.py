"""The channel-estimation family (seed 003, issue 13) as its own room: group ``channel_estimation``, partitioned by
site (San Francisco is the one the profiles size; the paper's DeepMIMO Chicago scenario cannot be downloaded here).

- ``csi_static_set`` / ``csi_trajectory``: per-antenna complex CSI ray traced on the site's scene
  (``domain.raytrace_csi``) from one rooftop BS, one Zarr store per BS array of the profile (``domain.csi``
  contract) under ``$RADIOMAP_HOME/csi/<site>/<run>/``;
- ``channel_estimator``: the proposed autoencoder + LSTM tracker on the first array's static set
  (``models.channel_estimation.experiment.train_estimator``), logged and registered in MLflow;
- ``channel_estimates``: section VI's comparison on the trajectory per array (``experiment.run``: LS, LMMSE, OMP,
  proposed, no-L_TC ablation, end-to-end LSTM): "proposed" at the first array is the registered version, loaded
  back from MLflow; the other networks are trained there as the benchmark trains them;
- ``channel_estimation_report``: Fig. 4 and Figs. 5/6 as PNGs and tables in ``reports/<site>/channel_estimation.md``.

Measured complex CSI (group ``measured_csi``, one dynamic partition per campaign, the sensor
``csi_landing_sensor``): a store of the ``domain.csi`` contract renamed into ``$RADIOMAP_HOME/landing_csi/<id>.zarr``
is checked and moved to ``csi/<site>/measured/<id>.zarr`` (``measured_csi``; a broken one is quarantined with its
reasons), then the serving (champion) ``channel_estimator`` version estimates it from received pilots of its own
design, beside LS and OMP on the same pilots (``measured_channel_estimates``).

The work is in ``models.channel_estimation`` and ``domain``; these functions only read the profile, call them,
write the stores and say what they did."""

import json
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset

import models
from models.channel_estimation.classical import to_db
from models.channel_estimation.config import ChannelEstimationConfig, sized_config
from models.channel_estimation.experiment import (ExperimentResult, comparable, latent_roughness,
                                                  received_pilots_raw, run, train_estimator, validation_nmse_db,
                                                  validation_split)
from models.channel_estimation.persistence import (ChannelEstimator, ChannelEstimatorPyfuncModel,
                                                   load_estimator_files, pilots_frame, save_estimator)
from models.channel_estimation.tracker import parameter_count
from radiomap_assets import plots
from radiomap_assets.assets.shared import csi_campaign_partitions, site_partitions
from radiomap_assets.domain import raytrace
from radiomap_assets.domain.csi import STATIC, ArrayGeometry, OfdmGrid, csi_dataset, open_csi, write_csi
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.raytrace_csi import (reached, static_positions, trace_csi, walk_positions,
                                                 yaw_toward)
from radiomap_assets.metadata import as_json
from radiomap_assets.profiles import ChannelEstimationSection, home_layout
from radiomap_assets.sites import site_names
from resources import LandingZone, MlflowTracker, RunProfile, SionnaScene
from resources.mlflow_tracker import download_model_artifacts

GROUP = "channel_estimation"
MEASURED_GROUP = "measured_csi"  # measured CSI campaigns, one dynamic partition each (a short name: the UI's lineage
# graph truncates long group names)
REGISTERED_MODEL = "channel_estimator"
CHAMPION, CHALLENGER = "champion", "challenger"  # MLflow registry aliases, as the beam-map family's
SITES = ("san_francisco",)  # the sites the profiles' channel_estimation sections are sized for


@contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` for the block (the profile's ``torch_threads``), then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(int(n), 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def section_config(section: ChannelEstimationSection, side: int) -> ChannelEstimationConfig:
    return sized_config(section.sizes, **section.overrides(side))


class ChannelEstimationRunConfig(Config):
    """What one run of the family computes, within the profile's sizes: ``arrays`` (BS array sides, a subset of the
    profile's ``bs_sides``; empty: all of them, or only the first with ``first_array_only``, the array the registered
    estimator serves) and ``methods`` (of the profile's ``methods``; empty: all). The job
    ``channel_estimation_headline`` (``make demo``) presets them; the job ``channel_estimation`` runs everything."""

    arrays: list[int] = []
    first_array_only: bool = False
    methods: list[str] = []

    def sides(self, section: ChannelEstimationSection) -> tuple[int, ...]:
        unknown = set(self.arrays) - set(section.bs_sides)
        if unknown:
            raise ValueError(f"arrays {sorted(unknown)} are not in the profile's bs_sides {section.bs_sides}")
        if not self.arrays and self.first_array_only:
            return section.bs_sides[:1]
        return tuple(s for s in section.bs_sides if not self.arrays or s in self.arrays)

    def chosen_methods(self, section: ChannelEstimationSection) -> tuple[str, ...]:
        unknown = set(self.methods) - set(section.methods)
        if unknown:
            raise ValueError(f"methods {sorted(unknown)} are not in the profile's methods {section.methods}")
        return tuple(m for m in section.methods if not self.methods or m in self.methods)


def _trace_sets(context: AssetExecutionContext, scene: SionnaScene, section: ChannelEstimationSection,
                kind: str, sides: tuple[int, ...]) -> Output[dict]:
    """Ray trace the static set (``kind`` = "static") or the walk ("trajectory") for every BS array of the profile
    and write one CSI store per array. Positions and the BS are drawn from the section's seed, so both assets see
    the same BS and site geometry."""
    t0 = time.perf_counter()
    site = context.partition_key
    if site not in SITES:
        raise ValueError(f"the channel-estimation family runs on {', '.join(SITES)} only (its profile sections are "
                         f"sized for an outdoor site's crop and rooftop BS), not on {site!r}")
    scene = scene.at(site)
    sionna_site = scene.site
    half = section.crop_m / 2
    config = section_config(section, section.bs_sides[0])
    sionna = scene.csi_scene(config.carrier_frequency_hz)
    geometry = scene.geometry(Grid.covering((-half, -half, half, half), section.grid_resolution_m))
    bs = raytrace.place_base_stations(geometry, 1, sionna_site.bs_height_above_roof_m, section.seed)[0]
    bs_xyz = (bs["x_m"], bs["y_m"], bs["z_m"])
    rng = np.random.default_rng([section.seed, 0 if kind == "static" else 1])
    if kind == "static":
        pos, t_s, tid = static_positions(geometry, section.static_samples, sionna_site.ue_height_m, rng), None, None
    else:
        pos = walk_positions(geometry, section.trajectory_steps, section.step_m, sionna_site.ue_height_m, rng)
        t_s, tid = np.arange(len(pos)) * section.step_m, np.full(len(pos), "walk")
    ofdm = OfdmGrid(config.carrier_frequency_hz, config.bandwidth_hz, section.num_subcarriers)
    ue = ArrayGeometry(section.ue_rows, section.ue_cols)
    folder = home_layout().root / "csi" / site / context.run_id[:8]
    stores, timings, kept = {}, {}, None
    for side in sides:
        t1 = time.perf_counter()
        yaw = yaw_toward(pos, bs_xyz)
        H = trace_csi(sionna, bs_xyz, ArrayGeometry(side, side), pos, ue, ofdm, bs_yaw_deg=bs["yaw_deg"],
                      ue_yaw_deg=yaw, max_depth=section.max_depth, samples_per_src=section.samples_per_src,
                      diffraction=section.diffraction, seed=section.seed)
        kept = reached(H) if kept is None else kept  # the same paths at every array: the same users reached
        ds = csi_dataset(H[kept], pos[kept], ArrayGeometry(side, side), ue, ofdm, site, "sionna_rt",
                         t_s=None if t_s is None else t_s[kept], trajectory_id=None if tid is None else tid[kept],
                         bs_position=bs_xyz, bs_yaw_deg=bs["yaw_deg"], ue_yaw_deg=yaw[kept],
                         attrs={"max_depth": section.max_depth, "samples_per_src": section.samples_per_src,
                                "diffraction": int(section.diffraction), "dagster_run_id": context.run_id})
        stores[side] = str(write_csi(ds, folder / f"{kind}_bs{side}x{side}.zarr"))
        timings[f"bs{side}x{side}_s"] = round(time.perf_counter() - t1, 1)
        context.log.info(f"{kind} CSI at BS {side}x{side}: {int(kept.sum())} of {len(pos)} users reached, "
                         f"{timings[f'bs{side}x{side}_s']} s -> {stores[side]}")
    return Output(stores, metadata={
        "samples": int(kept.sum()), "dropped_without_a_path": int((~kept).sum()),
        "bs_arrays": [f"{s}x{s}" for s in sides], "ue_array": f"{ue.rows}x{ue.cols}",
        "subcarriers": section.num_subcarriers, "stores": as_json({f"{s}x{s}": p for s, p in stores.items()}),
        "path": MetadataValue.path(str(folder)), "bs_position_m": as_json(list(bs_xyz)),
        "timings_s": as_json(timings), "seconds": round(time.perf_counter() - t0, 1)})


@asset(group_name=GROUP, partitions_def=site_partitions, kinds={"zarr", "sionna"},
       description="Per-antenna complex CSI (domain.csi contract) of the static training set (paper: 1,111 users) "
                   "ray traced on the site from one rooftop BS, one Zarr store per BS array of the profile.")
def csi_static_set(context: AssetExecutionContext, config: ChannelEstimationRunConfig, scene: SionnaScene,
                   run_profile: RunProfile) -> Output[dict]:
    section = run_profile.at(context.partition_key).get().channel_estimation
    return _trace_sets(context, scene, section, "static", config.sides(section))


@asset(group_name=GROUP, partitions_def=site_partitions, kinds={"zarr", "sionna"},
       description="Per-antenna complex CSI along a street walk (one position per coherence interval), the "
                   "evaluation trajectory of Figs. 4-6, one Zarr store per BS array of the profile.")
def csi_trajectory(context: AssetExecutionContext, config: ChannelEstimationRunConfig, scene: SionnaScene,
                   run_profile: RunProfile) -> Output[dict]:
    section = run_profile.at(context.partition_key).get().channel_estimation
    return _trace_sets(context, scene, section, "trajectory", config.sides(section))


def _centre_subcarrier(path: str) -> tuple[np.ndarray, np.ndarray]:
    """H (S, N_B, N_U) at the carrier's subcarrier and the positions (S, 3) of a CSI store."""
    return _centre_subcarrier_of(open_csi(path))


def _centre_subcarrier_of(ds) -> tuple[np.ndarray, np.ndarray]:
    """``_centre_subcarrier`` of an open CSI Dataset."""
    k = int(np.argmin(np.abs(ds.frequency_offset_hz.values)))
    return ds.H.values[..., k], np.c_[ds.x.values, ds.y.values, ds.z.values]


def load_version(tracking_uri: str, model_uri: str) -> ChannelEstimator:
    """A registered version of ``channel_estimator`` loaded back from MLflow (its three files)."""
    local = download_model_artifacts(tracking_uri, model_uri)
    return load_estimator_files(*(next(local.rglob(f)) for f in ("autoencoder.pt", "tracker.pt",
                                                                  "channel_estimator.json")))


def promote_estimator(context: AssetExecutionContext, mlflow_tracker: MlflowTracker, candidate: ChannelEstimator,
                      version: str, H_val: np.ndarray, pos_val: np.ndarray) -> dict:
    """Champion or challenger, as the beam-map family's versions (model_registry.promote): the new version becomes
    the alias ``champion`` only if its NMSE on the held-out static users (``experiment.validation_nmse_db``) is no
    worse than the champion's on the same pilots; a champion that cannot be scored on them (other arrays or
    pilots) is replaced, and the decision says why. Returns the decision (tagged on the version, logged to its
    run)."""
    champion_version = mlflow_tracker.alias_version(REGISTERED_MODEL, CHAMPION)
    cand = validation_nmse_db(candidate, H_val, pos_val)
    champ, why = None, None
    if champion_version is not None and champion_version != version:
        champion = load_version(mlflow_tracker.tracking_uri, f"models:/{REGISTERED_MODEL}/{champion_version}")
        why = comparable(candidate.config, champion.config)
        if why is None:
            champ = validation_nmse_db(champion, H_val, pos_val)
    promoted = champ is None or cand <= champ
    alias = CHAMPION if promoted else CHALLENGER
    mlflow_tracker.set_alias(REGISTERED_MODEL, alias, version)
    decision = {"decision": alias, "candidate_version": version, "candidate_validation_nmse_db": round(cand, 3),
                "champion_version": champion_version if champion_version != version else None,
                "champion_validation_nmse_db": None if champ is None else round(champ, 3),
                "not_comparable": why, "validation_users": len(H_val),
                "serving_version": version if promoted else champion_version}
    mlflow_tracker.tag_version(REGISTERED_MODEL, version, {"promotion": json.dumps(decision)})
    context.log.info(f"{REGISTERED_MODEL} v{version}: {alias} (held-out users {cand:.2f} dB"
                     + (f" against champion v{champion_version}'s {champ:.2f} dB)" if champ is not None else
                        f"; the champion v{champion_version} could not be scored: {why})" if why else ")"))
    return decision


@asset(group_name=GROUP, partitions_def=site_partitions, kinds={"pytorch", "mlflow"},
       description="The proposed estimator (autoencoder with L_TC + LSTM latent tracker) trained on the first BS "
                   "array's static set (every 10th user held out); an MLflow run with its learning curves and a "
                   "registered pyfunc version (received pilots in volts -> Ĥ) that becomes the alias champion only "
                   "if its NMSE on the held-out users is no worse than the champion's. Output: the serving version.")
def channel_estimator(context: AssetExecutionContext, csi_static_set: dict, run_profile: RunProfile,
                      mlflow_tracker: MlflowTracker) -> Output[dict]:
    site = context.partition_key
    profile = run_profile.at(site).get()
    section = profile.channel_estimation
    side = section.bs_sides[0]
    config = section_config(section, side)
    H_all, pos_all = _centre_subcarrier(csi_static_set[side])
    train_idx, val_idx = validation_split(len(H_all))
    H, pos = H_all[train_idx], pos_all[train_idx]
    tags = {"dagster_run_id": context.run_id, "site": site, "profile": profile.name, "family": "seed_003",
            "static_set": csi_static_set[side]}
    with mlflow_tracker.run(f"{REGISTERED_MODEL}-{context.run_id[:8]}", tags) as tracked:
        tracked.log_params({**config.to_dict(), "static_samples": len(H), "validation_samples": len(val_idx)})
        with torch_threads(section.torch_threads):
            estimator, fits = train_estimator(config, H, pos)
        for name, result in fits.items():
            for row in result.history[::10] + result.history[-1:]:
                tracked.log_metrics({f"{name}_{k}": v for k, v in row.items() if k not in ("step", "seconds")},
                                    step=row["step"])
            tracked.log_png(plots.learning_curves(result.history), f"{name}_learning_curves.png")
        sizes = {"autoencoder": parameter_count(estimator.autoencoder), "tracker": parameter_count(estimator.tracker)}
        wall = {k: r.wall_time_s for k, r in fits.items()}
        tracked.log_metrics({f"{k}_parameters": v for k, v in sizes.items()}
                            | {f"{k}_wall_time_s": v for k, v in wall.items()})
        with tempfile.TemporaryDirectory() as tmp:
            files = save_estimator(estimator, Path(tmp), extra={"site": site, "bs_array": f"{side}x{side}"})
            example = pilots_frame(received_pilots_raw(config, H[:3]))
            registered = tracked.register_pyfunc_model(
                ChannelEstimatorPyfuncModel(), files, REGISTERED_MODEL, version_tags=tags,
                pip_requirements=["torch==2.13.0", "numpy", "pandas"], input_example=example,
                code_paths=[str(Path(models.__file__).resolve().parent)])
        run_id = tracked.run_id
    context.log.info(f"{REGISTERED_MODEL} v{registered.model_version}: {sizes} parameters, "
                     f"{sum(wall.values()):.0f} s of training")
    with torch_threads(section.torch_threads):
        decision = promote_estimator(context, mlflow_tracker, estimator, registered.model_version, H_all[val_idx],
                                     pos_all[val_idx])
    mlflow_tracker.log_metrics_to_run(run_id, {"validation_nmse_db": decision["candidate_validation_nmse_db"]})
    serving = decision["serving_version"]
    ref = {"registered_model_name": REGISTERED_MODEL, "model_version": serving,
           "model_uri": f"models:/{REGISTERED_MODEL}/{serving}", "trained_version": registered.model_version,
           "mlflow_run_id": run_id, "tracking_uri": mlflow_tracker.tracking_uri,
           "bs_array": f"{side}x{side}", "parameters": sizes, "wall_time_s": wall, "promotion": decision,
           "final_losses": {k: r.history[-1] if r.history else {} for k, r in fits.items()}}
    return Output(ref, metadata={
        "model_uri": ref["model_uri"], "model_version": serving, "trained_version": registered.model_version,
        "promotion": as_json(decision),
        "mlflow_run": MetadataValue.url(mlflow_tracker.run_url(run_id)), "parameters": as_json(sizes),
        "train_wall_time_s": as_json(wall), "static_samples": len(H), "validation_samples": len(val_idx),
        "config": as_json(config.to_dict())})


@asset(group_name=GROUP, partitions_def=site_partitions, kinds={"pytorch"},
       description="NMSE per time step along the trajectory for LS, LMMSE, OMP, the proposed tracker, its ablation "
                   "without L_TC and the end-to-end LSTM, per BS array of the profile (Figs. 5 and 6), with the "
                   "latent distances of Fig. 4, wall times and parameter counts; \"proposed\" at the first array is "
                   "the registered channel_estimator version.")
def channel_estimates(context: AssetExecutionContext, config: ChannelEstimationRunConfig, csi_static_set: dict,
                      csi_trajectory: dict, channel_estimator: dict, run_profile: RunProfile) -> Output[dict]:
    section = run_profile.at(context.partition_key).get().channel_estimation
    registered = load_version(channel_estimator["tracking_uri"], channel_estimator["model_uri"])  # the serving one
    methods = config.chosen_methods(section)
    results: dict[int, ExperimentResult] = {}
    for side in config.sides(section):
        H_static, pos = _centre_subcarrier(csi_static_set[side])
        train_idx, _ = validation_split(len(H_static))  # every method learns from what the estimator learned from
        H_static, pos = H_static[train_idx], pos[train_idx]
        H_walk, _ = _centre_subcarrier(csi_trajectory[side])
        context.log.info(f"BS {side}x{side}: {len(H_static)} static samples, {len(H_walk)} trajectory steps")
        array_config = section_config(section, side)
        trained = {"proposed": registered} if registered.config == array_config else None
        with torch_threads(section.torch_threads):
            results[side] = run(array_config, H_static, pos, H_walk, methods=methods, seed=section.seed,
                                log=context.log.info, trained=trained)
    table = "| BS array | " + " | ".join(methods) + " |\n|---|" + "---|" * len(methods) + "\n"
    for side, r in results.items():
        db = r.nmse_db()
        table += f"| {side}x{side} | " + " | ".join(f"{db[m]:.2f}" for m in methods) + " |\n"
    return Output(results, metadata={
        "nmse_db": MetadataValue.md(table),
        "nmse_db_by_array": as_json({f"{s}x{s}": r.nmse_db() for s, r in results.items()}),
        "parameters": as_json({f"{s}x{s}": r.parameters for s, r in results.items()}),
        "wall_s": as_json({f"{s}x{s}": r.wall_s for s, r in results.items()}),
        "prior_scale_kappa": as_json({f"{s}x{s}": r.prior_scale for s, r in results.items()}),
        "registered_estimator": channel_estimator["model_uri"]})


def report_markdown(results: dict[int, ExperimentResult], estimator: dict, figures: dict[str, str]) -> str:
    """The report's text: the NMSE table, per array the parameter counts and the figures (``figures``: name ->
    file name beside the report)."""
    methods = list(next(iter(results.values())).nmse) if results else []
    lines = ["# Channel estimation (seed 003, issue 13)", "",
             "Model-free channel estimation from few pilots (Zheng, Hossain, Chaaban) on ray-traced San Francisco "
             "CSI (the paper's DeepMIMO Chicago scenario cannot be downloaded here). Mean NMSE in dB over the "
             "trajectory; lower is better.", "",
             "| BS array | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for side, r in results.items():
        db = r.nmse_db()
        lines.append(f"| {side}x{side} | " + " | ".join(f"{db[m]:.2f}" for m in methods) + " |")
    lines += ["", "| BS array | SNR per antenna pair (dB) | parameters | autoencoder floor (dB) | Fig. 4 roughness |",
              "|---|---|---|---|---|"]
    for side, r in results.items():
        rough = {k: round(latent_roughness(v), 1) for k, v in r.latent_distance.items()}
        lines.append(f"| {side}x{side} | {r.snr_db:.1f} | {json.dumps(r.parameters)} | "
                     f"{json.dumps({k: round(v, 2) for k, v in r.autoencoder_floor_db.items()})} | "
                     f"{json.dumps(rough)} |")
    lines += ["", "Fig. 4 roughness: the total variation of ||s(t) - s(0)|| along the walk over its range (lower is "
              "smoother; L_TC should lower it). The parameters column prints the tracker's count, independent of "
              "N_B, beside the autoencoder's.", "",
              "`proposed_lmmse` is our declared variant, not the paper's: the proposed tracker's estimate enters an "
              "LMMSE update from the same interval's pilots as a second observation of H, with the error covariance "
              "it had on training walks scaled by a kappa that the likelihood of the walk's pilots chooses (no label; "
              "kappa 1e6 means the prior was ignored and the row equals LMMSE). Chosen kappa: "
              + json.dumps({f"{s}x{s}": r.prior_scale for s, r in results.items()}) + "."]
    lines += ["", f"Registered estimator: `{estimator['model_uri']}` (BS {estimator['bs_array']}, parameters "
                  f"{json.dumps(estimator['parameters'])}).", ""]
    for name, file in figures.items():
        lines += [f"![{name}]({file})", ""]
    return "\n".join(lines)


@asset(group_name=GROUP, partitions_def=site_partitions, kinds={"markdown"},
       description="The family's report under reports/<site>/channel_estimation.md: NMSE tables, Fig. 4 (latent "
                   "distance with and without L_TC) and Figs. 5/6 (NMSE over time) as PNGs beside it.")
def channel_estimation_report(context: AssetExecutionContext, channel_estimates: dict,
                              channel_estimator: dict) -> Output[str]:
    folder = home_layout().reports / context.partition_key
    folder.mkdir(parents=True, exist_ok=True)
    figures, pngs = {}, {}
    for i, (side, r) in enumerate(channel_estimates.items()):
        fig = "Fig. 5" if i == 0 else "Fig. 6"
        pngs[f"{fig}: NMSE over time, BS {side}x{side}"] = (
            f"channel_estimation_nmse_bs{side}x{side}.png",
            plots.nmse_over_time_figure(r.nmse, f"{fig}: NMSE over time, BS {side}x{side}"))
        if r.latent_distance:
            pngs[f"Fig. 4: latent distance, BS {side}x{side}"] = (
                f"channel_estimation_latent_bs{side}x{side}.png",
                plots.latent_distance_figure(r.latent_distance, f"Fig. 4: ||s(t) - s(0)||, BS {side}x{side}"))
    for name, (file, png) in pngs.items():
        (folder / file).write_bytes(png)
        figures[name] = file
    path = folder / "channel_estimation.md"
    text = report_markdown(channel_estimates, channel_estimator, figures)
    path.write_text(text)
    first = next(iter(pngs.values()), None)
    summary = {f"{s}x{s}": {m: round(float(to_db(np.mean(v))), 2) for m, v in r.nmse.items()}
               for s, r in channel_estimates.items()}
    return Output(str(path), metadata={
        "path": MetadataValue.path(str(path)), "figures": as_json(list(figures.values())),
        "nmse_db": as_json(summary),
        "report": MetadataValue.md(text.split("\n\n![")[0] + ("\n\n" + plots.markdown_image(first[1], "NMSE")
                                                                 if first else ""))})


@asset(group_name=MEASURED_GROUP, partitions_def=csi_campaign_partitions, kinds={"zarr"},
       description="A measured complex-CSI campaign landed under landing_csi/<id>.zarr, checked against the contract "
                   "(domain.csi: complex H, known site, finite, time order) and moved to csi/<site>/measured/; a "
                   "broken store is quarantined with its reasons and the run fails with them.")
def measured_csi(context: AssetExecutionContext, landing_zone: LandingZone) -> Output[str]:
    from dagster import Failure

    try:
        path = landing_zone.accept_csi(context.partition_key, tuple(site_names()))
    except ValueError as e:
        raise Failure(description=str(e)) from None
    ds = open_csi(path)
    bs, ue = (f"{ds.attrs[f'{a}_array_rows']}x{ds.attrs[f'{a}_array_cols']}" for a in ("bs", "ue"))
    trajectories = sorted(set(ds.trajectory_id.values.astype(str).tolist()))
    return Output(str(path), metadata={
        "path": MetadataValue.path(str(path)), "site": ds.attrs["site"], "source": ds.attrs["source"],
        "samples": int(ds.sizes["sample"]), "trajectories": as_json(trajectories[:20]),
        "bs_array": bs, "ue_array": ue, "subcarriers": int(ds.sizes["subcarrier"]),
        "carrier_frequency_hz": float(ds.attrs["carrier_frequency_hz"]),
        "positions_known": int(np.isfinite(ds.x.values).sum())})


@asset(group_name=MEASURED_GROUP, partitions_def=csi_campaign_partitions, kinds={"pytorch"},
       description="The serving (champion) channel_estimator version on a measured CSI campaign: received pilots of "
                   "its own design and powers from the measured H at the carrier's subcarrier, Ĥ per sample, NMSE "
                   "per sample beside LS and OMP on the same pilots. Fails with the reason when the campaign's arrays "
                   "are not the ones the estimator serves.")
def measured_channel_estimates(context: AssetExecutionContext, measured_csi: str,
                               mlflow_tracker: MlflowTracker) -> Output[pd.DataFrame]:
    from dagster import Failure

    from models.channel_estimation.classical import OmpEstimator, ls_estimate, nmse
    from models.channel_estimation.pilots import ChannelScale

    version = mlflow_tracker.alias_version(REGISTERED_MODEL, CHAMPION)
    if version is None:
        raise Failure(description=f"no {REGISTERED_MODEL} version is champion yet: run the job channel_estimation "
                                  f"on the campaign's site first")
    estimator = load_version(mlflow_tracker.tracking_uri, f"models:/{REGISTERED_MODEL}/{version}")
    c = estimator.config
    ds = open_csi(measured_csi)
    H, _ = _centre_subcarrier_of(ds)
    if H.shape[1:] != (c.num_bs_antennas, c.num_ue_antennas):
        raise Failure(description=f"the campaign's arrays (BS {ds.attrs['bs_array_rows']}x{ds.attrs['bs_array_cols']}, "
                                  f"UE {ds.attrs['ue_array_rows']}x{ds.attrs['ue_array_cols']}) are not the ones "
                                  f"champion v{version} serves (BS {c.bs_rows}x{c.bs_cols}, UE {c.ue_rows}x{c.ue_cols})"
                                  f": train an estimator for them (profile channel_estimation.bs_sides)")
    tid, t = ds.trajectory_id.values.astype(str), ds.t_s.values
    Y_raw = received_pilots_raw(c, H, seed=0)  # (S, M_B, M_U) volts, at the config's transmit and noise powers
    design = estimator.pilots()
    scale = ChannelScale.fit(H, c.tx_power_dbm, c.noise_power_dbm)
    Y = Y_raw / scale.volts_per_unit(c.tx_power_dbm)  # channel units of this campaign's scale, for LS and OMP
    estimates = {"ls": ls_estimate(Y, design) * scale.scale,
                 "omp": OmpEstimator(design, (c.bs_rows, c.bs_cols), (c.ue_rows, c.ue_cols), scale.noise_variance,
                                     c.omp_oversampling, c.omp_max_paths)(Y) * scale.scale,
                 "proposed": np.empty_like(H)}
    with torch_threads(1):
        for name in dict.fromkeys(tid.tolist()):  # a trajectory is one sequence; a static user is its own
            rows = np.nonzero(tid == name)[0]
            if name == STATIC:  # a batch of one-step sequences
                estimates["proposed"][rows] = estimator.estimate(Y_raw[rows][:, None])[:, 0]
            else:
                estimates["proposed"][rows] = estimator.estimate(Y_raw[rows])
    df = pd.DataFrame({"trajectory_id": tid, "t_s": t,
                       **{f"nmse_{m}": nmse(v, H) for m, v in estimates.items()}})
    summary = {m: round(float(to_db(df[f"nmse_{m}"].mean())), 2) for m in estimates}
    context.log.info(f"{measured_csi}: champion v{version} {summary['proposed']:.2f} dB, LS {summary['ls']:.2f} dB, "
                     f"OMP {summary['omp']:.2f} dB over {len(df)} samples")
    return Output(df, metadata={"nmse_db": as_json(summary), "estimator_version": version,
                                "model_uri": f"models:/{REGISTERED_MODEL}/{version}", "samples": len(df),
                                "snr_db": round(scale.snr_db(), 1)})
