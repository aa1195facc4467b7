"""MLflow tracking (SQLite store and a local artifact folder under $RADIOMAP_HOME) as a Dagster resource.

A small resource around ``mlflow`` (dagster-mlflow pins an exact Dagster and an old pandas)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource

from radiomap_assets.profiles import home_layout


class MlflowTracker(ConfigurableResource):
    """``root``: folder holding ``mlflow.db`` and ``artifacts/`` (default ``$RADIOMAP_HOME/mlflow``)."""

    root: str = ""
    experiment: str = "radiomap"

    def root_path(self) -> Path:
        return Path(self.root) if self.root else home_layout().root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root_path() / 'mlflow.db'}"

    def activate(self) -> str:
        """Point mlflow at this store; create the experiment if needed; returns the experiment id."""
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

        root = self.root_path()
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.tracking_uri)
        exp = mlflow.get_experiment_by_name(self.experiment)
        if exp is not None:
            return exp.experiment_id
        return mlflow.create_experiment(self.experiment, artifact_location=(root / "artifacts").as_uri())

    def ui_command(self) -> str:
        return f"mlflow ui --backend-store-uri {self.tracking_uri} --port 5000"
