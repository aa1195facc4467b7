"""The Dagster code location: one ``Definitions`` per part, merged at the top (design section 2).

- ``common_definitions``: what every model family shares: the site's simulation, the landing zone and its sensor,
  ingestion of campaigns and the paper-protocol coarse input of the evaluation;
- ``beam_map_definitions``: the family of seed 001: the site grid, the generative model, inference, the baselines,
  floors, variants and the evaluation report;
- ``channel_estimation_definitions``: the family of seed 003 (issue 13): complex CSI, the estimator, the estimates
  and their report;
- ``build_definitions`` merges them with the resources and the executor of the active profile.

A new model family adds its own ``<family>_definitions`` here and to the merge, nothing else.
"""

from __future__ import annotations

import os

from dagster import (Definitions, ExecutorDefinition, FilesystemIOManager, in_process_executor,
                     load_assets_from_modules, multiprocess_executor)

from radiomap_assets import env_setup
from radiomap_assets.assets import (baselines, channel_estimation, evaluation, floors, ingestion, model, report,
                                    simulation, variants)
from radiomap_assets.jobs import (beam_map_job, channel_estimation_headline_job, channel_estimation_job,
                                  evaluation_job, headline_evaluation_job, inference_job, ingestion_job,
                                  measured_csi_job, paper_protocol_job, simulation_job, training_job)
from radiomap_assets.profiles import Profile, get_profile, home_layout
from radiomap_assets.sensors import (beam_map_refresh_sensor, csi_landing_sensor, landing_zone_sensor,
                                     retrain_after_new_campaigns, retraining_schedule, trajectory_refresh_sensor)
from resources import BeamMapStore, LandingZone, MlflowTracker, RunProfile, SionnaScene


def assets_defined_in(modules: list) -> list:
    """The assets each module defines itself (an asset module also imports the assets it depends on, and
    ``load_assets_from_modules`` would count those twice across two Definitions)."""
    names = {m.__name__ for m in modules}
    return [a for a in load_assets_from_modules(modules) if a.op.compute_fn.decorated_fn.__module__ in names]


def common_definitions() -> Definitions:
    return Definitions(assets=assets_defined_in([simulation, ingestion]),
                       jobs=[simulation_job, ingestion_job, paper_protocol_job], sensors=[landing_zone_sensor])


def beam_map_definitions() -> Definitions:
    return Definitions(assets=assets_defined_in([model, evaluation, baselines, floors, variants, report]),
                       jobs=[training_job, inference_job, beam_map_job, evaluation_job, headline_evaluation_job],
                       sensors=[trajectory_refresh_sensor, beam_map_refresh_sensor, retrain_after_new_campaigns],
                       schedules=[retraining_schedule])


def channel_estimation_definitions() -> Definitions:
    """The family of seed 003 (issue 13): complex CSI, the estimator, the estimates and their report."""
    return Definitions(assets=assets_defined_in([channel_estimation]),
                       jobs=[channel_estimation_job, channel_estimation_headline_job, measured_csi_job],
                       sensors=[csi_landing_sensor])


EXECUTOR_SWITCH = "RADIOMAP_EXECUTOR"  # in_process (default) | multiprocess | dask
EXECUTORS = ("in_process", "multiprocess", "dask")


def executor_from_environment() -> ExecutorDefinition:
    """The executor a switch chooses, no code change (issue 15; README "Scaling out"):

    - ``in_process`` (default): one step at a time in the run's process; on 2 cores ray tracing and training use both;
    - ``multiprocess``: a process per step, ``RADIOMAP_MAX_CONCURRENT`` (default 2) at once;
    - ``dask``: steps on a Dask cluster (radiomap_assets.executors, over dagster-dask), the scheduler at
      ``RADIOMAP_DASK_SCHEDULER`` (``tcp://host:8786``), else a local cluster of ``RADIOMAP_DASK_WORKERS``
      (default 2) one-thread workers.

    The Kubernetes and Celery executors (dagster-k8s, dagster-celery) are configured the same way; the README
    gives an example. Every step reads and writes through the filesystem IO manager and the stores under
    RADIOMAP_HOME (or their URLs), so every worker must see them."""
    kind = os.environ.get(EXECUTOR_SWITCH, "in_process").strip() or "in_process"
    if kind == "in_process":
        return in_process_executor
    if kind == "multiprocess":
        return multiprocess_executor.configured(
            {"max_concurrent": int(os.environ.get("RADIOMAP_MAX_CONCURRENT", "2"))}, name="multiprocess")
    if kind == "dask":
        from radiomap_assets.executors import dask_executor

        return dask_executor.configured({"address": os.environ.get("RADIOMAP_DASK_SCHEDULER", "").strip(),
                                         "n_workers": int(os.environ.get("RADIOMAP_DASK_WORKERS", "2"))},
                                        name="dask")
    raise ValueError(f"{EXECUTOR_SWITCH} must be one of {EXECUTORS}, got {kind!r}")


def resource_definitions(profile: Profile) -> Definitions:
    home = home_layout()
    run_profile = RunProfile(name=profile.name)
    return Definitions(
        resources={
            "run_profile": run_profile,
            "scene": SionnaScene(run_profile=run_profile),
            "beam_map_store": BeamMapStore(),  # $RADIOMAP_BEAM_MAP_URL (any fsspec URL), else $RADIOMAP_HOME/beam_maps
            "landing_zone": LandingZone(root=str(home.root)),
            "mlflow_tracker": MlflowTracker(root=str(home.root / "mlflow")),
            "io_manager": FilesystemIOManager(base_dir=str(home.storage)),
        },
        executor=executor_from_environment(),
    )


def build_definitions(profile_name: str | None = None) -> Definitions:
    env_setup.configure()
    profile = get_profile(profile_name)
    return Definitions.merge(common_definitions(), beam_map_definitions(), channel_estimation_definitions(),
                             resource_definitions(profile))


defs = build_definitions()
