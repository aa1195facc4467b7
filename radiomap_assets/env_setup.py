"""Process environment for running offline: Dr.Jit's LLVM, a persistent DAGSTER_HOME with telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

from radiomap_assets.domain.raytrace import configure_drjit_llvm
from radiomap_assets.profiles import home_layout

DAGSTER_YAML = """telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
run_monitoring:
  # the daemon marks runs whose worker died (killed, out of memory) as failed instead of leaving them STARTED
  enabled: true
  max_resume_run_attempts: 0
run_retries:
  # jobs opt in with the tag dagster/max_retries (ingest_campaign: 2, for runs whose worker died)
  enabled: true
  max_retries: 0
"""


def configure() -> Path:
    """Set the environment variables the project needs and create DAGSTER_HOME; returns DAGSTER_HOME."""
    configure_drjit_llvm()
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    home = home_layout()
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home.root / "dagster_home")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    cfg = dagster_home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML)
    return dagster_home


if __name__ == "__main__":
    print(configure())
