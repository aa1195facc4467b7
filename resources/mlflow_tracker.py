"""MLflow tracking (SQLite store and a local artifact folder under $RADIOMAP_HOME, or a tracking server named by an
environment variable) as a Dagster resource.

Every MLflow call of the project lives here (issue 11): assets hand plain values (parameters, metrics, PNG bytes,
model files) to the resource and get run ids, versions and local paths back. A small resource around ``mlflow``
(dagster-mlflow pins an exact Dagster and an old pandas)."""

from __future__ import annotations

import functools
import io
import os
import socket
import sqlite3
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
    """``root``: folder holding ``mlflow.db`` and ``artifacts/`` (default ``$RADIOMAP_HOME/mlflow``).

    **Tracking server, a switch.** ``RADIOMAP_MLFLOW_URI``, else MLflow's own ``MLFLOW_TRACKING_URI`` when it names a
    server (e.g. ``http://mlflow.example:5000``; ``server_uri``), is the store every run, model version and alias goes
    to; the experiment is then created with the server's default artifact root. Unset (the default): the local
    SQLite store under ``root``.

    **A home copied or moved keeps working** (issue 15). MLflow records absolute ``file://`` URIs of artifacts in
    the SQLite store (the experiment's artifact location, every run's, every logged model's and model version's), so
    a copied home would read its models from the old place, and fail once that is gone. ``root/STORE_ROOT.txt``
    records the root's URI the store was last used under; ``activate`` under another root (the local store only)
    rewrites every stored value that starts with the old root's URI to start with the new one, then records the new
    root. The rewrite is plain ``sqlite3`` in one transaction (``BEGIN IMMEDIATE``: a second process waits, then
    finds nothing left to rewrite) over every text column of every table, not a list of MLflow's columns: MLflow
    adds tables between versions (3.x: ``logged_models``), and a prefix of a file URI under the root matches nothing
    else. MLflow's API has no call for it (an experiment's artifact location is immutable there). A store from before
    the record is taken to have been created where its experiment's artifact location says. Model references name
    the store by its old path too: ``download_model_artifacts`` falls back to this home's store for a local store
    that no longer exists."""

    root: str = ""
    experiment: str = "radiomap"

    def root_path(self) -> Path:
        return Path(self.root).resolve() if self.root else home_layout().root / "mlflow"

    @property
    def local_tracking_uri(self) -> str:
        return f"sqlite:///{self.root_path() / 'mlflow.db'}"

    @property
    def tracking_uri(self) -> str:
        """The tracking server the environment names (``server_uri``), else the local SQLite store."""
        return server_uri() or self.local_tracking_uri

    @property
    def is_local(self) -> bool:
        return not server_uri()

    def activate(self) -> str:
        """Point mlflow at this store; create the experiment if needed; returns the experiment id. A local store
        created under another root is first moved to this one (``relocate_store``)."""
        mlflow = _mlflow()
        artifact_location = None
        if self.is_local:
            root = self.root_path()
            (root / "artifacts").mkdir(parents=True, exist_ok=True)
            relocate_store(root, self.experiment)
            artifact_location = (root / "artifacts").as_uri()
        mlflow.set_tracking_uri(self.tracking_uri)
        exp = mlflow.get_experiment_by_name(self.experiment)
        if exp is None:
            return mlflow.create_experiment(self.experiment, artifact_location=artifact_location)
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
        if not self.is_local:
            return f"open {self.tracking_uri}"
        return f"mlflow ui --backend-store-uri {self.tracking_uri} --port {MLFLOW_UI_PORT}"

    def git_commit(self) -> str | None:
        """The git commit of the code this process runs (the tag its runs carry), None outside a checkout."""
        return _git_commit()

    def ui_base_url(self) -> str:
        """Where the MLflow UI of this store is served: the tracking server, else ``RADIOMAP_MLFLOW_UI`` or the
        local ``mlflow ui`` that ``make ui`` starts beside the Dagster web server."""
        if not self.is_local:
            return self.tracking_uri.rstrip("/")
        return os.environ.get("RADIOMAP_MLFLOW_UI", f"http://127.0.0.1:{MLFLOW_UI_PORT}").rstrip("/")

    def run_url(self, run_id: str) -> str:
        """The MLflow UI's page of a run (the web UI's metadata links to it)."""
        self.activate()
        exp_id = _mlflow().MlflowClient().get_run(run_id).info.experiment_id
        return f"{self.ui_base_url()}/#/experiments/{exp_id}/runs/{run_id}"


STORE_ROOT_RECORD = "STORE_ROOT.txt"
MLFLOW_UI_PORT = 5000


def server_uri() -> str | None:
    """The tracking server the environment names, None for the local store: ``RADIOMAP_MLFLOW_URI``, else
    ``MLFLOW_TRACKING_URI`` where it names no local store (``sqlite:``, ``file:`` or a path). MLflow itself writes
    the URI it was last pointed at into ``MLFLOW_TRACKING_URI`` (for subprocesses), so a local one there is this
    project's own store, not a switch."""
    own = os.environ.get("RADIOMAP_MLFLOW_URI", "").strip()
    if own:
        return own
    mlflows = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    scheme = mlflows.split("://", 1)[0].lower() if "://" in mlflows else ""
    return mlflows if scheme not in ("", "file", "sqlite") else None


def _recorded_root(root: Path, experiment: str) -> str | None:
    """The URI of the root the store at ``root`` was last used under: its record, else (a store from before the
    record) the folder above its experiment's artifact location; None when neither is known."""
    record = root / STORE_ROOT_RECORD
    if record.exists():
        return record.read_text().strip() or None
    if not (root / "mlflow.db").exists():
        return None
    con = _connect(root / "mlflow.db")
    try:
        row = con.execute("SELECT artifact_location FROM experiments WHERE name = ?", (experiment,)).fetchone()
    except sqlite3.OperationalError:  # not an MLflow store yet
        row = None
    finally:
        con.close()
    location = row[0] if row else ""
    if location.startswith("file:") and location.endswith("/artifacts"):
        return location.removesuffix("/artifacts")
    return None


def relocate_store(root: Path, experiment: str = "radiomap") -> int:
    """Rewrite the absolute artifact URIs of the SQLite store at ``root`` from the root it was last used under to
    ``root`` (see ``MlflowTracker``), once; record ``root``. Returns the number of values rewritten."""
    new = root.as_uri()
    old = _recorded_root(root, experiment)
    if old == new and (root / STORE_ROOT_RECORD).exists():
        return 0
    changed = 0
    if old is not None and old != new and (root / "mlflow.db").exists():
        changed = _rewrite_prefix(root / "mlflow.db", old + "/", new + "/")
    tmp = root / f".{STORE_ROOT_RECORD}.{os.getpid()}"
    tmp.write_text(new + "\n")
    os.replace(tmp, root / STORE_ROOT_RECORD)
    return changed


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, timeout=60, isolation_level=None)  # transactions begun explicitly


def _rewrite_prefix(db: Path, old: str, new: str) -> int:
    """Every text value of every table of ``db`` starting with ``old`` made to start with ``new`` instead, in one
    transaction; returns the number of values changed."""
    con = _connect(db)
    try:
        con.execute("BEGIN IMMEDIATE")
        changed = 0
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            for _, column, decl, *_ in con.execute(f'PRAGMA table_info("{table}")').fetchall():
                if not any(t in decl.upper() for t in ("CHAR", "CLOB", "TEXT")):  # SQLite's text affinity
                    continue
                changed += con.execute(f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                                       f'WHERE substr("{column}", 1, ?) = ?',
                                       (new, len(old) + 1, len(old), old)).rowcount
        con.execute("COMMIT")
        return changed
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


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
    store at ``tracking_uri`` (a model reference carries both, so loading needs no resource instance). A local
    SQLite store that no longer exists there (the reference was written before its home was copied or moved) is
    read from this home's store (``MlflowTracker()``, activated: moved to this root first) instead."""
    mlflow = _mlflow()
    if _missing_local_store(tracking_uri):
        MlflowTracker().activate()
    else:
        mlflow.set_tracking_uri(tracking_uri)
    return Path(mlflow.artifacts.download_artifacts(model_uri)) / "artifacts"


def _missing_local_store(tracking_uri: str) -> bool:
    prefix = "sqlite:///"
    return tracking_uri.startswith(prefix) and not Path(tracking_uri[len(prefix):]).exists()
