"""Simulation group: the ray-traced ground-truth beam map and the simulated campaigns that land like real ones."""


import dataclasses
import time

import numpy as np
import pandas as pd
from dagster import AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from radiomap_assets import checks, metadata, plots
from radiomap_assets.assets.shared import ground_truth_map_name, site_partitions
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.beam_map_store import beam_map_dataset, flag_attrs
from radiomap_assets.domain.raytrace import NOISE_FLOOR_DBM
from radiomap_assets.domain.simulation import simulate_campaigns
from radiomap_assets.profiles import home_layout
from resources import BeamMapStore, LandingZone, RunProfile, SionnaScene


@asset(group_name="simulation", partitions_def=site_partitions, kinds={"sionna", "zarr"},
       check_specs=[AssetCheckSpec("ground_truth_coverage", asset="ground_truth_beam_map", blocking=True,
                                   description=checks.GROUND_TRUTH_COVERAGE),
                    AssetCheckSpec("base_stations_see_los_and_nlos", asset="ground_truth_beam_map",
                                   description=checks.LOS_AND_NLOS)],
       description="Ray-traced beam maps of every (base station, DFT beam) on the site's ground-truth grid, with the "
                   "walkable mask, LOS flags and coverage flags (design 3.2). One RadioMapSolver run per site.")
def ground_truth_beam_map(context: AssetExecutionContext, scene: SionnaScene, beam_map_store: BeamMapStore,
                          run_profile: RunProfile):
    t0 = time.perf_counter()
    scene, run_profile = scene.at(context.partition_key), run_profile.at(context.partition_key)
    spec, site = scene.spec, scene.site
    context.log.info(f"ray tracing {site.scene}: {site.num_base_stations} base stations x {site.num_beams} beams, "
                     f"{spec.samples_per_tx:,} rays per transmitter, depth {spec.max_depth}")

    def progress(done: int, total: int) -> None:
        context.log.info(f"ray traced {done}/{total} base stations, "
                         f"{metadata.time_left(time.perf_counter() - t0, done, total)}")

    traced = scene.trace(on_progress=progress)
    trace_s = time.perf_counter() - t0
    grid, geometry, bss = traced.grid, traced.geometry, traced.base_stations
    walkable = geometry.walkable
    with np.errstate(divide="ignore", invalid="ignore"):
        power = site.tx_power_dbm + 10.0 * np.log10(traced.path_gain)
    covered = np.isfinite(power) & walkable[None, None]
    power = np.where(covered, np.maximum(power, NOISE_FLOOR_DBM), np.nan)  # holes: NaN, flagged by covered
    attrs = {
        "title": "ground-truth beam map (ray traced)", "scene": site.scene, "site": site.name,
        "carrier_frequency_hz": site.carrier_frequency_hz, "num_antennas": site.num_antennas,
        "codebook": site.codebook_type, "num_beams": site.num_beams,
        "array_rows": site.array_shape[0], "array_cols": site.array_shape[1],
        "beams_vertical": site.codebook_shape[0], "beams_horizontal": site.codebook_shape[1],
        "tx_power_dbm": site.tx_power_dbm,
        "samples_per_tx": spec.samples_per_tx, "max_depth": spec.max_depth,
        "noise_floor_dbm": NOISE_FLOOR_DBM, "ue_height_m": site.ue_height_m, "diffraction": int(spec.diffraction),
        "dagster_run_id": context.run_id, "model_name": "sionna-rt RadioMapSolver", "mlflow_run_id": "",
        "campaigns": "", "profile": run_profile.name,
        "hole_policy": f"coverage holes (walkable cells no ray reached): power_dbm = NaN and covered = False; the "
                       f"pipeline reads them as the noise floor ({NOISE_FLOOR_DBM} dBm, what a receiver measures "
                       f"there); power below the noise floor is clipped to it",
    }
    extra = {
        "covered": (("bs", "beam", "y", "x"), covered,
                    flag_attrs("some ray reached the walkable cell", "coverage_hole_or_not_walkable covered")),
        "los": (("bs", "y", "x"), traced.los, flag_attrs("line of sight to the base station", "nlos los")),
        "ground_z_m": (("y", "x"), geometry.ground_z.astype(np.float32),
                       {"units": "m", "long_name": "terrain height above the scene's z = 0"}),
        "ue_z_m": (("y", "x"), (geometry.ground_z + site.ue_height_m).astype(np.float32),
                   {"units": "m", "long_name": "user (receiver) height above the scene's z = 0"}),
    }
    ds = beam_map_dataset(power, grid, bss, walkable, attrs, extra=extra)
    path = beam_map_store.write(ds, ground_truth_map_name(site.name))
    total_s = time.perf_counter() - t0
    coverage = covered[:, :, walkable].mean(axis=(1, 2))
    any_beam = covered.any(axis=1)[:, walkable].mean(axis=1)
    los_share = traced.los[:, walkable].mean(axis=1)
    table = pd.DataFrame({"bs_id": [b["bs_id"] for b in bss], "x_m": [b["x_m"] for b in bss],
                          "y_m": [b["y_m"] for b in bss], "z_m": [round(b["z_m"], 1) for b in bss],
                          "coverage_per_beam": coverage.round(3), "coverage_any_beam": any_beam.round(3),
                          "los_share_of_walkable": los_share.round(3)})
    png = plots.beam_maps_of_base_station(ds, 0)
    png_path = home_layout().reports / site.name / "ground_truth_bs0_beams.png"
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png)
    context.log.info(f"wrote {path} in {total_s:.1f} s (ray tracing {trace_s:.1f} s); walkable cells some ray "
                     f"reached per base station: {', '.join(f'{v:.1%}' for v in any_beam)}")
    yield MaterializeResult(metadata={
        "zarr_path": MetadataValue.path(str(path)),
        "catalogue_path": MetadataValue.path(str(beam_map_store.catalogue_path(ground_truth_map_name(site.name)))),
        "open_with": MetadataValue.md(f"```python\nimport xarray as xr\nds = xr.open_zarr('{path}')\n```"),
        "grid": MetadataValue.json({**grid.to_dict(), "walkable_share": round(float(walkable.mean()), 4)}),
        "base_stations": MetadataValue.md(table.to_markdown(index=False)),
        "ray_tracing_s": round(trace_s, 1),
        "wall_time_s": round(total_s, 1),
        "bs0_beams": MetadataValue.md(plots.markdown_image(png, "beam maps of base station 0")),
        "bs0_beams_png": MetadataValue.path(str(png_path)),
    })
    yield checks.ground_truth_coverage(ds)  # the dataset just written: holes NaN, as stored
    yield checks.base_stations_see_los_and_nlos(ds)


class SimulationConfig(Config):
    """Overrides of the profile's campaign settings (None = the profile's value)."""

    measurement_rate_hz: float | None = None  # CSI samples per second
    observed_beams_per_bs: int | None = None  # M
    noise_std_db: float | None = None
    num_random_trajectories: int | None = None
    kinds: list[str] = []  # empty = the profile's: uniform, complex, random and uniform_m<M> per M of the sweep


@asset(group_name="simulation", partitions_def=site_partitions, deps=["ground_truth_beam_map"], kinds={"parquet"},
       check_specs=[AssetCheckSpec("simulated_campaigns_follow_contract", asset="simulated_campaigns",
                                   blocking=True,
                                   description="Blocks: every campaign this run simulated passes the landing-zone "
                                               "contract.")],
       description="Simulated campaigns of the site (San Francisco: uniform, complex, random discontinuous "
                   "trajectories; the indoor hall: robot trajectories) written into the landing zone exactly as a "
                   "real campaign lands (design 3.1); ground truth in its own file.")
def simulated_campaigns(context: AssetExecutionContext, config: SimulationConfig, scene: SionnaScene,
                        beam_map_store: BeamMapStore, landing_zone: LandingZone, run_profile: RunProfile):
    t0 = time.perf_counter()
    scene, run_profile = scene.at(context.partition_key), run_profile.at(context.partition_key)
    ds = beam_map_store.open_latest(ground_truth_map_name(scene.site.name)).load()
    overrides = {k: v for k, v in config.model_dump().items() if v is not None and k != "kinds"}
    spec = dataclasses.replace(run_profile.get().campaign, **overrides)
    site = scene.site
    campaigns = simulate_campaigns(ds, spec, site=site.name, kinds=tuple(config.kinds) or None,
                                   codebook=site.codebook_manifest(), centre_preference=site.path_centre_preference)
    landing_zone.ensure()
    rows, overview = [], {}
    for c in campaigns:
        exists = any(p.exists() for p in (landing_zone.landing_path / c.campaign_id,
                                          landing_zone.accepted_path / c.campaign_id))
        if not exists:
            contract.write_campaign(landing_zone.landing_path / c.campaign_id, c.manifest, c.measurements,
                                    c.ground_truth)
        los_cols = [col for col in c.ground_truth.columns if col.startswith("los_bs_")]
        los = c.ground_truth[los_cols].to_numpy()
        rows.append({"campaign_id": c.campaign_id, "kind": c.kind, "status": "exists" if exists else "landed",
                     "trajectories": c.ground_truth["trajectory_id"].nunique(), "samples": len(c.ground_truth),
                     "rows": len(c.measurements), "los_share_any_bs": round(float(los.any(axis=1).mean()), 3),
                     **{f"los_share_{col[4:]}": round(float(c.ground_truth[col].mean()), 3) for col in los_cols}})
        for tid, g in list(c.ground_truth.groupby("trajectory_id", sort=False))[:3]:
            overview[f"{c.kind}:{tid}"] = g[["x_m", "y_m"]].to_numpy()
        context.log.info(f"{c.campaign_id}: {rows[-1]['samples']} samples, {rows[-1]['rows']} measurement rows "
                         f"({rows[-1]['status']})")
    table = pd.DataFrame(rows)
    png = plots.site_overview(ds, overview)
    png_path = home_layout().reports / site.name / "site_overview.png"
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png)
    yield MaterializeResult(metadata={
        "campaigns": MetadataValue.md(table.to_markdown(index=False)),
        "landing_zone": MetadataValue.path(str(landing_zone.landing_path)),
        "overview": MetadataValue.md(plots.markdown_image(png, "site overview")),
        "wall_time_s": round(time.perf_counter() - t0, 1),
    })
    yield checks.simulated_campaigns_follow_contract(landing_zone, [c.campaign_id for c in campaigns])
