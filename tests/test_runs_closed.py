"""Runs a killed process leaves open are closed (issue 14): MLflow runs of a dead process of this machine are marked
KILLED the next time the store is used; runs of live processes stay RUNNING. No Dagster."""

import socket
import subprocess
import sys

import mlflow

from resources import MlflowTracker
from resources.mlflow_tracker import OWNER_HOST, OWNER_PID


def test_a_run_left_running_by_a_killed_process_is_marked_killed_and_a_live_ones_run_is_not(tmp_path):
    tracker = MlflowTracker(root=str(tmp_path / "mlflow"))
    exp_id = tracker.activate()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process
    client = mlflow.MlflowClient()
    host = socket.gethostname()
    orphan = client.create_run(exp_id, tags={OWNER_PID: str(dead.pid), OWNER_HOST: host}).info.run_id
    alive = client.create_run(exp_id, tags={OWNER_PID: "1", OWNER_HOST: host}).info.run_id  # init: alive
    elsewhere = client.create_run(exp_id, tags={OWNER_PID: str(dead.pid), OWNER_HOST: host + "-other"}).info.run_id
    tracker.activate()  # the next use of the store
    assert client.get_run(orphan).info.status == "KILLED"
    assert client.get_run(alive).info.status == "RUNNING" and client.get_run(elsewhere).info.status == "RUNNING"
    with tracker.run("next", {"k": "v"}) as run:  # runs of this process carry their owner
        tags = client.get_run(run.run_id).data.tags
    assert tags[OWNER_HOST] == host and tags[OWNER_PID].isdigit()
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert tags.get("mlflow.source.git.commit") == (head or None)  # the code a run ran, where it is a checkout
