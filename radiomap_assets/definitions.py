"""The Dagster code location: assets, checks, jobs, sensor and resources for the active profile."""

from __future__ import annotations

from dagster import Definitions, FilesystemIOManager, in_process_executor, load_assets_from_modules

from radiomap_assets import checks, env_setup
from radiomap_assets.assets import (baselines, evaluation, floors, ingestion, model, report, simulation,
                                    variants)
from radiomap_assets.jobs import (beam_map_job, evaluation_job, headline_evaluation_job, inference_job, ingestion_job,
                                  paper_protocol_job, simulation_job, training_job)
from radiomap_assets.profiles import get_profile, home_layout
from radiomap_assets.sensors import landing_zone_sensor
from resources import BeamMapStore, LandingZone, MlflowTracker, SionnaScene


def build_definitions(profile_name: str | None = None) -> Definitions:
    env_setup.configure()
    profile = get_profile(profile_name)
    home = home_layout()
    return Definitions(
        assets=load_assets_from_modules([simulation, ingestion, model, evaluation, baselines, floors, variants,
                                         report]),
        asset_checks=checks.ALL_CHECKS,
        jobs=[simulation_job, ingestion_job, paper_protocol_job, training_job, inference_job, beam_map_job,
              evaluation_job, headline_evaluation_job],
        sensors=[landing_zone_sensor],
        resources={
            "scene": SionnaScene.from_profile(profile),
            "beam_map_store": BeamMapStore(root=str(home.beam_maps)),
            "landing_zone": LandingZone(root=str(home.root)),
            "mlflow_tracker": MlflowTracker(root=str(home.root / "mlflow")),
            "io_manager": FilesystemIOManager(base_dir=str(home.storage)),
        },
        executor=in_process_executor,  # 2 cores: one step at a time, ray tracing and training use both
    )


defs = build_definitions()
