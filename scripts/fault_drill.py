"""Fault drill (issue 14, item 6): real kills (SIGKILL, no clean-up handler runs) during a Zarr beam-map write, a
training and an ingestion, and a burst of landed campaigns; prints what survived. Everything happens in a throw-away
folder; nothing of the project's home is touched.

- **zarr**: a child process writes beam-map versions in a loop (each version's power is its own number) and is
  killed at a random moment, ``--kills`` times. After each kill: ``latest.zarr`` opens with plain xarray, holds a
  complete version (its values are that version's number), ``LATEST`` names the same version, every version the
  catalogue lists exists. Temporaries a kill leaves are counted, and removed by the next write once stale.
- **training**: a child process trains a small generative model with a checkpoint every 5 steps and is killed at a
  random moment, ``--kills`` times in a row on the same checkpoint; a last run finishes. Its parameters are compared
  with an uninterrupted run's (the fit loop is seeded per step, so they must agree).
- **ingestion**: the ingestion of a campaign is killed in a child process; the run is marked failed (what Dagster's
  run monitoring does for a dead worker) and the landing sensor requests it again; the retry accepts it.
- **burst**: ``--burst`` campaigns land at once; sensor ticks request runs and each requested run ingests its
  campaign, until a tick requests nothing. Each campaign must be accepted exactly once, by exactly one run.

    .venv/bin/python scripts/fault_drill.py [--kills 10] [--burst 200] [--only zarr training ingestion burst]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

PY = sys.executable


def _kill_after(cmd: list[str], seconds: float, env: dict | None = None) -> int:
    """Start ``cmd``, SIGKILL it after ``seconds`` (if still running); returns its exit status."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


# ------------------------------------------------------------------------------------------------------- zarr

def _drill_dataset(value: float):
    from radiomap_assets.domain.beam_map_store import beam_map_dataset
    from radiomap_assets.domain.grid import Grid
    grid = Grid(0.0, 0.0, 5.0, 120, 120)
    bss = [{"bs_id": b, "x_m": 10.0 * b, "y_m": 0.0, "z_m": 20.0, "yaw_deg": 0.0} for b in range(5)]
    return beam_map_dataset(np.full((5, 16) + grid.shape, value, np.float32), grid, bss,
                            np.ones(grid.shape, bool), {"site": "drill"})


def child_zarr(root: str, start: int) -> None:
    from radiomap_assets.domain.beam_map_store import write_beam_map
    k = start
    while True:
        write_beam_map(_drill_dataset(float(k)), Path(root), "drill", version=f"v{k:05d}")
        k += 1


def drill_zarr(kills: int, rng: random.Random) -> dict:
    import xarray as xr
    from radiomap_assets.domain import beam_map_store as store
    root = Path(tempfile.mkdtemp(prefix="radiomap-drill-zarr-"))
    folder = root / "drill"
    consistent, leftovers, next_version = 0, [], 0
    for _ in range(kills):
        _kill_after([PY, __file__, "--child-zarr", str(root), str(next_version)], rng.uniform(1.0, 4.0))
        versions = sorted(p.name[:-5] for p in folder.glob("v*.zarr"))
        next_version = int(versions[-1][1:]) + 1 if versions else next_version
        latest = (folder / "LATEST").read_text().strip() if (folder / "LATEST").exists() else None
        ok = latest is not None
        if ok:
            ds = xr.open_zarr(folder / "latest.zarr")  # plain xarray, as an analyst opens it
            value = float(ds.power_dbm.isel(bs=0, beam=0, y=0, x=0).values)
            listed = store.read_catalogue(root, "drill")["version"].tolist()
            link = os.readlink(folder / "latest.zarr")[:-5]
            # the link may lag LATEST by one step after a kill between them; the next write levels it (repair)
            ok = (value == float(int(link[1:])) and link in (latest, versions[-2] if len(versions) > 1 else latest)
                  and all((folder / f"{v}.zarr").exists() for v in listed))
        consistent += ok
        leftovers.append(sum(1 for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock")
                         if folder.exists() else 0)
    # the next write after the kills: stale temporaries (older than STALE_TEMPORARY_S) go; pretend they are old
    old = time.time() - 2 * store.STALE_TEMPORARY_S
    for p in folder.iterdir():
        if p.name.startswith("."):
            os.utime(p, (old, old), follow_symlinks=False)
    store.write_beam_map(_drill_dataset(float(next_version)), root, "drill", version=f"v{next_version:05d}")
    after = sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock")
    level = ((folder / "LATEST").read_text().strip() == os.readlink(folder / "latest.zarr")[:-5]
             == store.read_catalogue(root, "drill")["version"].iloc[-1])
    return {"kills": kills, "versions_written": next_version + 1, "latest_readable_and_complete": consistent,
            "temporaries_left_by_kills_max": max(leftovers), "temporaries_after_next_write": len(after),
            "latest_link_catalogue_level_after_next_write": bool(level), "folder": str(root)}


# --------------------------------------------------------------------------------------------------- training

def _drill_model():
    import torch
    from models.beam_map.config import ModelConfig
    from models.beam_map.generative_model import GenerativeBeamMapModel
    from models.beam_map.training import TrajectoryData
    rng = np.random.default_rng(0)
    n = 400
    xy = np.stack([np.linspace(0, 200, n), np.zeros(n)], axis=1)
    g = rng.random((n, 40)).astype(np.float32)
    m = rng.random((n, 40)) < 0.3
    data = [TrajectoryData("t", g * m, m, np.arange(n) * 0.1, xy + rng.normal(0, 5, xy.shape))]
    config = ModelConfig(num_entries=40, beams_per_bs=8, token_dim=8, num_heads=2, feature_dim=32,
                         rnn_widths=(32, 32, 32), truncation_len=4, latent_dim=16, cnn_channels=4, diffusion_steps=50,
                         unet_channels=16, condition_tokens=4, seq_len=16, batch_size=8, max_steps=300,
                         checkpoint_every=5, loss_subsample=64, diffusion_subsample=64)
    cells = torch.tensor([[x, 0.0] for x in range(0, 201, 5)], dtype=torch.float32)
    torch.manual_seed(0)
    return GenerativeBeamMapModel(config, cells, 5.0), data


def child_training(checkpoint: str, out: str) -> None:
    import torch
    from models.beam_map.training import train
    torch.set_num_threads(1)
    model, data = _drill_model()
    result = train(model, data, Path(checkpoint) if checkpoint != "-" else None)
    torch.save(model.state_dict(), out)
    Path(out + ".json").write_text(json.dumps({"resumed_from": result.resumed_from, "steps": result.steps_done}))


def drill_training(kills: int, rng: random.Random) -> dict:
    import torch
    folder = Path(tempfile.mkdtemp(prefix="radiomap-drill-training-"))
    t0 = time.perf_counter()
    subprocess.run([PY, __file__, "--child-training", "-", str(folder / "reference.pt")], check=True)
    full_s = time.perf_counter() - t0
    checkpoint = folder / "ckpt.pt"
    resumed = []
    for _ in range(kills):
        _kill_after([PY, __file__, "--child-training", str(checkpoint), str(folder / "killed.pt")],
                    rng.uniform(0.15, 0.35) * full_s)
        if checkpoint.exists():
            resumed.append(int(torch.load(checkpoint, weights_only=False)["step"]))
    subprocess.run([PY, __file__, "--child-training", str(checkpoint), str(folder / "final.pt")], check=True)
    info = json.loads((folder / "final.pt.json").read_text())
    ref, fin = torch.load(folder / "reference.pt"), torch.load(folder / "final.pt")
    worst = max(float((ref[k] - fin[k]).abs().max()) for k in ref if ref[k].dtype.is_floating_point)
    return {"kills": kills, "uninterrupted_s": round(full_s, 1), "checkpoint_steps_after_kills": resumed,
            "final_run_resumed_from_step": info["resumed_from"], "steps": info["steps"],
            "max_abs_parameter_difference_to_uninterrupted": worst, "same_as_uninterrupted": worst < 1e-5}


# ------------------------------------------------------------------------------------------ ingestion and burst

_HOME: list[tuple[Path, dict]] = []


def _home() -> tuple[Path, dict]:
    """One throw-away home for the ingestion and burst drills (the definitions bind their stores to the home at
    import, so both drills share it), set in this process's environment before the definitions are imported."""
    if not _HOME:
        home = Path(tempfile.mkdtemp(prefix="radiomap-drill-home-"))
        env = {**os.environ, "RADIOMAP_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
               "RADIOMAP_PROFILE": "smoke"}
        (home / "dagster_home").mkdir(parents=True)
        os.environ.update({k: env[k] for k in ("RADIOMAP_HOME", "DAGSTER_HOME", "RADIOMAP_PROFILE")})
        _HOME.append((home, env))
    return _HOME[0]


def child_ingest(campaign: str) -> None:
    """The ingestion run of ``campaign``, slowed down inside its first step so that the kill lands mid-run."""
    from dagster import DagsterInstance
    from radiomap_assets.definitions import defs
    from resources import LandingZone
    accept = LandingZone.accept

    def slow_accept(self, campaign_id):
        time.sleep(60.0)
        return accept(self, campaign_id)

    LandingZone.accept = slow_accept
    defs.resolve_job_def("ingest_campaign").execute_in_process(instance=DagsterInstance.get(), partition_key=campaign,
                                                               tags={"dagster/run_key": campaign})


def _tick_and_run(instance, zone, cursor, defs) -> tuple[list[str], str | None]:
    from dagster import SensorResult, build_sensor_context
    from radiomap_assets.sensors import landing_zone_sensor
    ctx = build_sensor_context(instance=instance, cursor=cursor, resources={"landing_zone": zone}, definitions=defs)
    result = landing_zone_sensor(ctx)
    if not isinstance(result, SensorResult):
        return [], ctx.cursor
    for req in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
    job = defs.resolve_job_def("ingest_campaign")
    for r in result.run_requests:
        job.execute_in_process(instance=instance, partition_key=r.partition_key,
                               tags={"dagster/run_key": r.run_key, "dagster/partition": r.partition_key})
    return [r.partition_key for r in result.run_requests], result.cursor


def drill_ingestion(rng: random.Random) -> dict:
    home, env = _home()
    from dagster import DagsterInstance
    from radiomap_assets.definitions import defs
    from resources import LandingZone
    from tests.campaign_corpus import write_good
    zone = LandingZone(root=str(home))
    zone.ensure()
    write_good(zone.landing_path, "killed-once")
    instance = DagsterInstance.get()
    from dagster import RunsFilter, SensorResult, build_sensor_context
    from radiomap_assets.sensors import landing_zone_sensor
    ctx = build_sensor_context(instance=instance, resources={"landing_zone": zone}, definitions=defs)
    first = landing_zone_sensor(ctx)  # requests the campaign; its run is launched in a worker process ...
    assert isinstance(first, SensorResult)
    instance.add_dynamic_partitions("campaigns", ["killed-once"])
    _kill_after([PY, __file__, "--child-ingest", "killed-once"], 20.0, env=env)  # ... that is killed mid-run
    runs = instance.get_runs(filters=RunsFilter(job_name="ingest_campaign", tags={"dagster/partition": "killed-once"}))
    status_after_kill = runs[0].status.value if runs else "no run"
    instance.report_run_failed(runs[0])  # what run monitoring (dagster.yaml) does for a worker that stopped beating
    failed = instance.get_run_by_id(runs[0].run_id)
    will_retry = failed.tags.get("dagster/will_retry") == "true"
    still_landed = (zone.landing_path / "killed-once").exists()
    if will_retry:  # the daemon's run retry (emulated here: no daemon runs in this script): the same job again
        defs.resolve_job_def("ingest_campaign").execute_in_process(
            instance=instance, partition_key="killed-once",
            tags={"dagster/parent_run_id": failed.run_id, "dagster/root_run_id": failed.run_id,
                  "dagster/retry_number": "1"})
        retried_by = "Dagster run retry (dagster/max_retries 2; the daemon's relaunch emulated)"
    else:
        requested, _ = _tick_and_run(instance, zone, first.cursor, defs)
        retried_by = f"landing sensor ({requested})"
    return {"run_status_after_kill": status_after_kill, "status_after_monitoring": failed.status.value,
            "dagster_will_retry": will_retry, "campaign_left_in_landing_zone_after_kill": still_landed,
            "retried_by": retried_by, "accepted_after_retry": (zone.accepted_path / "killed-once").exists()}


def drill_burst(n: int) -> dict:
    home, env = _home()
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from radiomap_assets.definitions import defs
    from resources import LandingZone
    from tests.campaign_corpus import write_good
    zone = LandingZone(root=str(home))
    zone.ensure()
    ids = [f"burst-{i:04d}" for i in range(n)]
    for i, cid in enumerate(ids):
        write_good(zone.landing_path, cid, seed=i)
    instance = DagsterInstance.get()
    t0, ticks, requested, cursor = time.perf_counter(), 0, [], None
    while True:
        runs, cursor = _tick_and_run(instance, zone, cursor, defs)
        ticks += 1
        if not runs:
            break
        requested += runs
    wall = time.perf_counter() - t0
    runs = [r for r in instance.get_runs(filters=RunsFilter(job_name="ingest_campaign"))
            if r.tags.get("dagster/partition", "").startswith("burst-")]
    per_campaign = {cid: 0 for cid in ids}
    for r in runs:
        per_campaign[r.tags.get("dagster/partition")] += r.status == DagsterRunStatus.SUCCESS
    accepted = sorted(p.name for p in zone.accepted_path.iterdir() if p.name.startswith("burst-"))
    return {"campaigns": n, "ticks": ticks, "runs": len(runs), "wall_s": round(wall, 1),
            "accepted": len(accepted), "accepted_exactly_once": accepted == ids and set(per_campaign.values()) == {1},
            "runs_per_s": round(len(runs) / wall, 2),
            "left_in_landing_zone": sum(p.name.startswith("burst-") for p in zone.landing_path.iterdir()),
            "quarantined": len(list(zone.quarantine_path.iterdir())) if zone.quarantine_path.exists() else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=("zarr", "training", "ingestion", "burst"),
                        default=["zarr", "training", "ingestion", "burst"])
    parser.add_argument("--child-zarr", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-training", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-ingest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_zarr:
        return child_zarr(args.child_zarr[0], int(args.child_zarr[1]))
    if args.child_training:
        return child_training(*args.child_training)
    if args.child_ingest:
        return child_ingest(args.child_ingest)
    rng = random.Random(args.seed)
    for name in args.only:
        t0 = time.perf_counter()
        out = {"zarr": lambda: drill_zarr(args.kills, rng), "training": lambda: drill_training(args.kills, rng),
               "ingestion": lambda: drill_ingestion(rng), "burst": lambda: drill_burst(args.burst)}[name]()
        print(f"{name} ({time.perf_counter() - t0:.0f} s): {json.dumps(out)}", flush=True)


if __name__ == "__main__":
    main()
