"""Dagster ConfigurableResources for the external systems: the ray tracer / scene, the landing zone, the Zarr
beam-map store, MLflow, and the run's Profile. Each is a thin typed shell around plain functions in
``radiomap_assets.domain``."""

from resources.beam_map_store import BeamMapStore
from resources.landing_zone import LandingZone
from resources.mlflow_tracker import MlflowTracker
from resources.profile import RunProfile
from resources.scene import SionnaScene

__all__ = ["BeamMapStore", "LandingZone", "MlflowTracker", "RunProfile", "SionnaScene"]
