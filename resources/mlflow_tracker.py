"""MLflow tracking (SQLite store and a local artifact folder under $RADIOMAP_HOME) as a Dagster resource.

Every MLflow call of the project lives here (issue 11): assets hand plain values (parameters, metrics, PNG bytes,
model files) to the resource and get run ids, versions and local paths back. A small resource around ``mlflow``
(dagster-mlflow pins an exact Dagster and an old pandas)."""

from __future__ import annotations

import functools
import io
import os
import socket
import subprocess
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dagster import ConfigurableResource

from radiomap_assets.profiles import home_layout


def _mlflow():
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    return mlflow


def _png_to_array(png: bytes):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@dataclass
class RegisteredVersion:
    registered_model_name: str
    model_version: str
    model_uri: str  # models:/<name>/<version>


class TrackedRun:
    """One open MLflow run: log to it, register a model from it. Handed out by ``MlflowTracker.run``."""

    def __init__(self, run):
        self._run = run

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def log_params(self, params: dict) -> None:
        _mlflow().log_params({k: str(v) for k, v in params.items()})

    def log_dict(self, value: dict, artifact_file: str) -> None:
        _mlflow().log_dict(value, artifact_file)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        _mlflow().log_metrics({k.replace(" ", "_"): float(v) for k, v in metrics.items()}, step=step)

    def log_png(self, png: bytes, artifact_file: str) -> None:
        _mlflow().log_image(_png_to_array(png), artifact_file)

    def log_files(self, files: list[Path], folder: Path | None = None, folder_name: str | None = None) -> None:
        mlflow = _mlflow()
        for f in files:
            mlflow.log_artifact(str(f))
        if folder is not None:
            mlflow.log_artifacts(str(folder), folder_name)

    def register_pyfunc_model(self, python_model, artifacts: dict[str, str], registered_model_name: str,
                              version_tags: dict[str, str], pip_requirements: list[str], input_example=None,
                              code_paths: list[str] | None = None) -> RegisteredVersion:
        """Log ``python_model`` (an ``mlflow.pyfunc.PythonModel``) with its artifact files, register a new version
        of ``registered_model_name`` and tag that version. ``input_example``: a few rows of the model's input, from
        which MLflow infers and stores the signature; ``code_paths``: packages copied beside the model so that it
        loads where they are not installed."""
        mlflow = _mlflow()
        with warnings.catch_warnings():  # the cell index is an integer column, never missing: nothing to warn about
            warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column")
            info = mlflow.pyfunc.log_model(name="model", python_model=python_model, artifacts=artifacts,
                                           registered_model_name=registered_model_name,
                                           pip_requirements=pip_requirements, input_example=input_example,
                                           code_paths=code_paths)
        version = str(info.registered_model_version)
        _tag_version(mlflow.MlflowClient(), registered_model_name, version, version_tags)
        return RegisteredVersion(registered_model_name, version, f"models:/{registered_model_name}/{version}")


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
        mlflow = _mlflow()
        root = self.root_path()
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.tracking_uri)
        exp = mlflow.get_experiment_by_name(self.experiment)
        if exp is None:
            return mlflow.create_experiment(self.experiment, artifact_location=(root / "artifacts").as_uri())
        close_runs_of_dead_processes(exp.experiment_id)
        return exp.experiment_id

    @contextmanager
    def run(self, run_name: str, tags: dict[str, str]) -> Iterator[TrackedRun]:
        """An MLflow run in this store's experiment, tagged; closed (finished or failed) on exit."""
        exp_id = self.activate()
        mlflow = _mlflow()
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.set_tags({k: str(v) for k, v in tags.items()} | _owner_tags())
            yield TrackedRun(run)

    # ---- the registry's aliases (issue 15: champion / challenger) ----------------------------------------------

    def alias_version(self, registered_model_name: str, alias: str) -> str | None:
        """The version ``alias`` points at (None when the model or the alias does not exist)."""
        self.activate()
        client = _mlflow().MlflowClient()
        try:
            return str(client.get_model_version_by_alias(registered_model_name, alias).version)
        except Exception:  # MlflowException: no such model or alias
            return None

    def set_alias(self, registered_model_name: str, alias: str, version: str) -> None:
        self.activate()
        _mlflow().MlflowClient().set_registered_model_alias(registered_model_name, alias, str(version))

    def tag_version(self, registered_model_name: str, version: str, tags: dict[str, str]) -> None:
        self.activate()
        _tag_version(_mlflow().MlflowClient(), registered_model_name, str(version), tags)

    def log_metrics_to_run(self, run_id: str, metrics: dict[str, float]) -> None:
        """Metrics added to a finished run (a promotion's scores)."""
        self.activate()
        client = _mlflow().MlflowClient()
        for k, v in metrics.items():
            client.log_metric(run_id, k, float(v))

    def load_run_dict(self, run_id: str, artifact_file: str) -> dict:
        self.activate()
        mlflow = _mlflow()
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{artifact_file}")

    def version_run_id(self, registered_model_name: str, version: str) -> str:
        self.activate()
        return _mlflow().MlflowClient().get_model_version(registered_model_name, str(version)).run_id

    def ui_command(self) -> str:
        return f"mlflow ui --backend-store-uri {self.tracking_uri} --port 5000"


OWNER_PID, OWNER_HOST = "radiomap.pid", "radiomap.host"


def _tag_version(client, registered_model_name: str, version: str, tags: dict) -> None:
    for k, v in tags.items():
        client.set_model_version_tag(registered_model_name, version, k, str(v))


def _owner_tags() -> dict[str, str]:
    """Which process holds a run open (``close_runs_of_dead_processes`` reads them), and which code it runs: the
    git commit of this checkout under MLflow's own tag (absent outside a git checkout)."""
    tags = {OWNER_PID: str(os.getpid()), OWNER_HOST: socket.gethostname()}
    commit = _git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def close_runs_of_dead_processes(experiment_id: str) -> list[str]:
    """Runs left RUNNING by a process of this machine that no longer exists (killed with SIGKILL, out of memory, a
    power cut: ``start_run``'s context closes runs on every exception but cannot run then) are marked KILLED. Runs
    of other machines and of live processes are left alone. Returns the run ids closed."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    host = socket.gethostname()
    closed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(OWNER_PID)
        if tags.get(OWNER_HOST) == host and pid and pid.isdigit() and int(pid) != os.getpid() \
                and not _process_alive(int(pid)):
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(run.info.run_id)
    return closed


def download_model_artifacts(tracking_uri: str, model_uri: str) -> Path:
    """The local folder of a registered model version's pyfunc artifacts (``models:/<name>/<version>``), from the
    store at ``tracking_uri`` (a model reference carries both, so loading needs no resource instance)."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    return Path(mlflow.artifacts.download_artifacts(model_uri)) / "artifacts"
