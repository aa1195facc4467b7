"""``make demo``: materialize the whole graph for ``$RADIOMAP_PROFILE`` into ``$RADIOMAP_HOME``.

Runs the jobs in-process against the persistent Dagster instance under ``$DAGSTER_HOME``, so that every run,
materialization and check result is visible afterwards in the web UI (``make ui``). The landing zone is picked up
exactly as the sensor does it (same function), so campaigns are ingested once even if the demo runs again.
"""

from __future__ import annotations

import json
import sys
import time

from radiomap_assets import env_setup


def _step(name: str):
    print(f"\n=== {name}", flush=True)
    return time.perf_counter()


def main() -> int:
    dagster_home = env_setup.configure()
    from dagster import DagsterInstance

    from radiomap_assets.assets.ingestion import campaign_partitions
    from radiomap_assets.definitions import defs
    from radiomap_assets.profiles import get_profile, home_layout
    from radiomap_assets.sensors import landing_zone_tick

    profile = get_profile()
    home = home_layout()
    print(f"profile {profile.name}, outputs under {home.root}, Dagster home {dagster_home}")
    instance = DagsterInstance.get()
    timings: dict[str, float] = {}

    t0 = _step("simulation: ray-traced ground-truth beam map and simulated campaigns")
    result = defs.resolve_job_def("simulate_site").execute_in_process(instance=instance, raise_on_error=True)
    for ev in result.get_asset_materialization_events():
        md = ev.materialization.metadata
        key = ev.asset_key.to_user_string()
        secs = md.get("wall_time_s")
        timings[key] = float(secs.value) if secs is not None else float("nan")
        print(f"  {key}: {timings[key]:.1f} s")
    timings["simulation (total)"] = time.perf_counter() - t0

    t0 = _step("landing zone: new campaigns (the sensor's logic)")
    landing_zone = defs.resources["landing_zone"]
    known = set(instance.get_dynamic_partitions(campaign_partitions.name))
    new, quarantined, _ = landing_zone_tick(landing_zone, None, known)
    for cid, reason in quarantined:
        print(f"  quarantined {cid}: {reason}")
    if new:
        instance.add_dynamic_partitions(campaign_partitions.name, new)
    print(f"  new: {new or 'none'}; already ingested: {sorted(known) or 'none'}")
    timings["landing zone scan"] = time.perf_counter() - t0

    job = defs.resolve_job_def("ingest_campaign")
    accuracy = {}
    for cid in new:
        t0 = _step(f"ingestion: {cid}")
        res = job.execute_in_process(instance=instance, partition_key=cid, raise_on_error=True)
        acc = res.output_for_node("coarse_location_accuracy")
        accuracy[cid] = acc
        timings[f"ingest {cid}"] = time.perf_counter() - t0
        if acc:
            print(f"  weighted-centroid error: mean {acc['mean_error_m']:.1f} m, 95th pct {acc['p95_error_m']:.1f} m, "
                  f"LOS share {acc.get('los_share', float('nan')):.2f}")

    print("\n=== wall time per step")
    for k, v in timings.items():
        print(f"  {k:<60s} {v:8.1f} s")
    (home.reports).mkdir(parents=True, exist_ok=True)
    (home.reports / "demo_summary.json").write_text(json.dumps({"profile": profile.name, "timings_s": timings,
                                                                "coarse_location_accuracy": accuracy}, indent=2))
    print(f"""
=== outputs
  beam maps (Zarr):    {home.beam_maps}   e.g. xarray.open_zarr('{home.beam_maps}/ground_truth_{profile.scene.scene}/latest.zarr')
  campaigns:           {home.accepted}   (landing zone {home.landing}, quarantine {home.quarantine})
  plots and summaries: {home.reports}
  web UI:              make ui   (or: DAGSTER_HOME={dagster_home} .venv/bin/dagster dev -w workspace.yaml), then http://127.0.0.1:3000
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
