"""The web UI: dagster-webserver starts on loopback from workspace.yaml and its GraphQL endpoint lists the assets
with their groups."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXPECTED_GROUPS = {
    "ground_truth_beam_map": "simulation", "simulated_campaigns": "simulation",
    "raw_channel_measurements": "ingestion", "masked_sparse_csi": "ingestion", "coarse_locations": "ingestion",
    "coarse_location_accuracy": "evaluation",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """Terminate a server or daemon the test started; kill it if it has not exited within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_webserver_serves_the_asset_graph_over_graphql(radiomap_home):
    port = _free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    env = {**os.environ, "DAGSTER_HOME": str(radiomap_home / "dagster_home")}
    (radiomap_home / "dagster_home").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        nodes = None
        while time.time() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                data = _graphql(port, "{ assetNodes { assetKey { path } groupName } }")
                nodes = data.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1.0)
        assert nodes, "the web server did not answer with asset nodes within 180 s"
        groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        for key, group in EXPECTED_GROUPS.items():
            assert groups.get(key) == group, (key, groups)
    finally:
        _stop(proc)
