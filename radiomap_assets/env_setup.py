"""Process environment for running offline: Dr.Jit's LLVM, a persistent DAGSTER_HOME with telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

from radiomap_assets.domain.raytrace import configure_drjit_llvm
from radiomap_assets.profiles import home_layout

MARKER = "# written by radiomap_assets.env_setup"
DAGSTER_YAML = f"""{MARKER} (rewritten when the project changes it; delete this line to keep your edits)
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    # two lanes (tag radiomap/lane, radiomap_assets.automation): a training, simulation, beam-map decoding or
    # evaluation takes the heavy lane, ingestion and trajectory recovery the campaign lane, so a training never
    # holds a newly landed campaign back; at most one run per lane on a 2-core machine
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: radiomap/lane
        value: heavy
        limit: 1
      - key: radiomap/lane
        value: campaign
        limit: 1
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
    if not cfg.exists() or _ours(cfg.read_text()) and cfg.read_text() != DAGSTER_YAML:
        cfg.write_text(DAGSTER_YAML)
    return dagster_home


def _ours(text: str) -> bool:
    """A dagster.yaml this module wrote (with its marker, or the first version's, which had none)."""
    return text.startswith(MARKER) or text.startswith("telemetry:\n  enabled: false\nrun_coordinator:\n  module: "
                                                      "dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
                                                      "  config:\n    max_concurrent_runs: 1\nrun_monitoring:")


if __name__ == "__main__":
    print(configure())
