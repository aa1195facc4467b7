"""A RADIOMAP_HOME copied or moved elsewhere keeps working (issue 15, item 5), and the MLflow tracking server is a
switch (an environment variable), not a code change. No Dagster, no ray tracing."""

import pickle
import shutil
import sqlite3

import mlflow
import pandas as pd
import pytest

from radiomap_assets.domain import campaign as contract
from resources import MlflowTracker
from resources.mlflow_tracker import STORE_ROOT_RECORD, download_model_artifacts
from tests.campaign_corpus import write_good

NAME, ALIAS = "relocation_probe", "champion"


class EchoArtifact(mlflow.pyfunc.PythonModel):
    """Answers with the text of its artifact ``note`` and where it read it from."""

    def load_context(self, context):
        self.path = context.artifacts["note"]

    def predict(self, context, model_input, params=None):
        with open(self.path) as f:
            return pd.DataFrame({"note": [f.read()] * len(model_input), "path": [self.path] * len(model_input)})


@pytest.fixture
def local_store(monkeypatch):
    for name in ("RADIOMAP_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


def _move_home(monkeypatch, old, new):
    """Copy the home ``old`` to ``new``, delete ``old`` and run from ``new``."""
    shutil.copytree(old, new, symlinks=True)
    shutil.rmtree(old)
    monkeypatch.setenv("RADIOMAP_HOME", str(new))


def _texts_holding(db, needle: str) -> list[str]:
    con = sqlite3.connect(db)
    try:
        found = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for column in [r[1] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall()]:
                n = con.execute(f'SELECT count(*) FROM "{table}" WHERE instr(CAST("{column}" AS TEXT), ?) > 0',
                                (needle,)).fetchone()[0]
                found += [f"{table}.{column}"] * bool(n)
        return found
    finally:
        con.close()


def test_a_copied_home_loads_its_registered_model_after_the_original_is_deleted(tmp_path, monkeypatch,
                                                                                local_store):
    old, new = tmp_path / "old" / "home", tmp_path / "new" / "home"
    monkeypatch.setenv("RADIOMAP_HOME", str(old))
    note = tmp_path / "note.txt"
    note.write_text("trained weights")
    tracker = MlflowTracker()
    with tracker.run("probe", {"purpose": "relocation"}) as run:
        run.log_params({"k": 1})
        registered = run.register_pyfunc_model(EchoArtifact(), {"note": str(note)}, NAME, {"probe": "yes"},
                                               pip_requirements=["pandas"])
    tracker.set_alias(NAME, ALIAS, registered.model_version)
    old_uri = tracker.tracking_uri  # what a ModelReference written now carries
    assert (old / "mlflow" / STORE_ROOT_RECORD).read_text().strip() == (old / "mlflow").as_uri()
    assert _texts_holding(old / "mlflow" / "mlflow.db", str(old))  # MLflow stores absolute paths: the problem

    _move_home(monkeypatch, old, new)
    note.unlink()  # the model's own copy of its artifact is all there is
    moved = MlflowTracker()
    moved.activate()
    db = new / "mlflow" / "mlflow.db"
    assert _texts_holding(db, str(old)) == []
    assert "model_versions.storage_location" in _texts_holding(db, (new / "mlflow").as_uri())
    assert (new / "mlflow" / STORE_ROOT_RECORD).read_text().strip() == (new / "mlflow").as_uri()
    assert moved.alias_version(NAME, ALIAS) == registered.model_version
    where = mlflow.MlflowClient().get_model_version_download_uri(NAME, registered.model_version)
    assert where.startswith((new / "mlflow" / "artifacts").as_uri() + "/")
    out = mlflow.pyfunc.load_model(f"models:/{NAME}@{ALIAS}").predict(pd.DataFrame({"x": [0]}))
    assert out["note"].tolist() == ["trained weights"] and not out["path"][0].startswith(str(old))
    assert moved.activate() and _texts_holding(db, (new / "mlflow").as_uri())  # once: a second activate is a no-op

    # a model reference written before the move names the old store: loading reads this home's instead
    local = download_model_artifacts(old_uri, registered.model_uri)
    assert (local / "note.txt").read_text() == "trained weights"
    assert mlflow.get_tracking_uri() == moved.tracking_uri


def test_a_store_from_before_the_record_is_moved_from_where_its_experiment_says(tmp_path, monkeypatch, local_store):
    old, new = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("RADIOMAP_HOME", str(old))
    with MlflowTracker().run("probe", {}) as run:
        run.log_dict({"v": 1}, "d.json")
    (old / "mlflow" / STORE_ROOT_RECORD).unlink()  # as a home written before the record existed
    _move_home(monkeypatch, old, new)
    assert MlflowTracker().load_run_dict(run.run_id, "d.json") == {"v": 1}
    assert _texts_holding(new / "mlflow" / "mlflow.db", str(old) + "/") == []


def test_the_tracking_server_is_an_environment_switch(tmp_path, monkeypatch, local_store):
    tracker = MlflowTracker(root=str(tmp_path / "mlflow"))
    assert tracker.is_local and tracker.tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")  # what mlflow.set_tracking_uri leaves
    assert tracker.is_local
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert not tracker.is_local and tracker.tracking_uri == "http://mlflow.example:5000"
    monkeypatch.setenv("RADIOMAP_MLFLOW_URI", "http://radiomap-mlflow:5000")  # the project's own name wins
    assert tracker.tracking_uri == "http://radiomap-mlflow:5000" and "radiomap-mlflow" in tracker.ui_command()
    assert tracker.local_tracking_uri.startswith("sqlite:///")


def test_a_campaign_read_back_after_its_home_moved_finds_its_ground_truth(tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    monkeypatch.setenv("RADIOMAP_HOME", str(old))
    campaign = contract.load_campaign(write_good(old / "campaigns", "moved-1"))
    stored = pickle.dumps(campaign)  # as the IO manager stores raw_channel_measurements
    _move_home(monkeypatch, old, new)
    back = pickle.loads(stored)
    assert back.path == new / "campaigns" / "moved-1" and back.ground_truth_path is not None
    assert len(contract.read_ground_truth(back)) == 40
