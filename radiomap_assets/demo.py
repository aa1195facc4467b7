"""``make demo``: materialize the production graph for ``$RADIOMAP_PROFILE`` into ``$RADIOMAP_HOME`` and the
headline of the evaluation (job ``evaluate_headline``: Table I on the paper's protocol and on the production input,
floors, SKF, the proposed model and its declared variants); ``make paper`` (``--paper``): the same graph and the
full evaluation of every table and figure (job ``evaluate``). Both print each step's wall time.

Runs the jobs in-process against the persistent Dagster instance under ``$DAGSTER_HOME``, so that every run,
materialization and check result is visible afterwards in the web UI (``make ui``). The landing zone is picked up
exactly as the sensor does it (same function), so campaigns are ingested once even if the demo runs again.

With several sites and at least two CPU cores the sites run side by side, one worker process per site, each with
its share of the cores for torch (``--sequential``: one after the other, all cores each). A network step of the
default model runs 1.3x faster on two threads than on one (``scripts/benchmark_training_step.py``, 292 against
380 ms, 2026-11-28): two sites on one thread each get about 1.5x the steps per second of one site on two.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from radiomap_assets import env_setup


QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}  # step progress, not every engine event


def _quiet(run_config: dict | None = None) -> dict:
    return {**QUIET, **(run_config or {})}


def _step(name: str):
    print(f"\n=== {name}", flush=True)
    return time.perf_counter()


def _done(timings: dict, key: str, t0: float) -> None:
    timings[key] = time.perf_counter() - t0
    print(f"  ({key}: {timings[key]:.1f} s)", flush=True)


def _asset_times(instance, result, timings: dict, prefix: str) -> None:
    """Each step (asset) of a finished run with its wall time, from the run's step statistics."""
    for stat in sorted(instance.get_run_step_stats(result.run_id), key=lambda s: s.start_time or 0.0):
        if stat.start_time is not None and stat.end_time is not None:
            timings[f"{prefix}{stat.step_key}"] = stat.end_time - stat.start_time
            print(f"  {stat.step_key}: {stat.end_time - stat.start_time:.1f} s")


def main(argv: list[str] | None = None) -> int:
    from radiomap_assets.sites import site_names

    parser = argparse.ArgumentParser(prog="python -m radiomap_assets.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--paper", action="store_true",
                        help="the full evaluation of every table and figure (job evaluate, `make paper`) instead of "
                             "the headline (job evaluate_headline)")
    parser.add_argument("--site", action="append", choices=site_names(),
                        help="run this site only (repeatable); default: every site "
                             f"({', '.join(site_names())})")
    parser.add_argument("--sequential", action="store_true",
                        help="run the sites one after the other (default with two or more CPU cores: side by side, "
                             "one process per site)")
    parser.add_argument("--no-channel-estimation", action="store_true",
                        help="skip the channel-estimation family's headline (seed 003: job "
                             "channel_estimation_headline on San Francisco)")
    parser.add_argument("--worker-summary", help=argparse.SUPPRESS)  # internal: a site worker's result file
    parser.add_argument("--channel-estimation-worker", help=argparse.SUPPRESS)  # internal: its result file
    args = parser.parse_args(argv)
    paper, sites = args.paper, args.site or list(site_names())
    start = time.perf_counter()
    dagster_home = env_setup.configure()
    from dagster import DagsterInstance

    from radiomap_assets.definitions import defs
    from radiomap_assets.profiles import get_profile, home_layout

    profile = get_profile()
    home = home_layout()
    instance = DagsterInstance.get()  # creates the instance's storage before any worker writes to it
    timings: dict[str, float] = {}
    if args.channel_estimation_worker:  # the family of seed 003 beside the sites, on a core a finished site freed
        summary = _run_channel_estimation(defs, instance, timings)
        Path(args.channel_estimation_worker).write_text(json.dumps({"summary": summary, "timings": timings},
                                                                   default=str))
        return 0 if summary.get("report") else 1
    if args.worker_summary:  # one site of a side-by-side demo: run it, hand the result to the parent
        _take_freed_cores_on_signal()
        summary = _run_site(defs, instance, sites[0], paper, timings, sites_running=_running_sites())
        Path(args.worker_summary).write_text(json.dumps({"summary": summary, "timings": timings}, default=str))
        return 0 if summary.get("evaluation_report") else 1
    print(f"profile {profile.name}, sites {', '.join(sites)}, outputs under {home.root}, Dagster home {dagster_home}")
    cores = os.cpu_count() or 1
    with_ce = not args.no_channel_estimation and CHANNEL_ESTIMATION_SITE in sites
    ce_summary: dict = {}
    if len(sites) > 1 and cores >= 2 and not args.sequential:
        defs.resources["mlflow_tracker"].activate()  # the MLflow store's tables, once, before the workers
        summaries, ce_summary = _run_sites_side_by_side(sites, paper, cores, timings, with_ce)
    else:
        summaries = {site: _run_site(defs, instance, site, paper, timings, sites_running=sites) for site in sites}
    if with_ce and not ce_summary:  # one site, sequential, or no site finished before the others
        ce_summary = _run_channel_estimation(defs, instance, timings)

    timings["total"] = time.perf_counter() - start
    print("\n=== wall time per step (job: asset = a step of that job)")
    for k, v in timings.items():
        print(f"  {k:<72s} {v:8.1f} s")
    (home.reports).mkdir(parents=True, exist_ok=True)
    (home.reports / f"{'paper' if paper else 'demo'}_summary.json").write_text(json.dumps({
        "profile": profile.name, "sites": summaries, "timings_s": timings}, indent=2, default=str))
    print(f"""
=== outputs
  beam maps (Zarr):    {home.beam_maps}
                       e.g. xarray.open_zarr('{home.beam_maps}/ground_truth_{sites[0]}/latest.zarr')
  campaigns:           {home.accepted}   (landing zone {home.landing}, quarantine {home.quarantine})
  MLflow:              {defs.resources["mlflow_tracker"].ui_command()}
  plots and summaries: {home.reports}""")
    if ce_summary.get("report"):
        print(f"  channel estimation:  report {ce_summary['report']}, NMSE (dB) {ce_summary['nmse_db']}")
    for site, summary in summaries.items():
        if summary.get("evaluation_report"):
            print(f"  {site}: report {summary['evaluation_report']['path']}, model {summary['model']}, generated "
                  f"beam map {summary['beam_map']}")
    print(f"  web UI:              make ui   (or: DAGSTER_HOME={dagster_home} .venv/bin/dagster dev -w "
          "workspace.yaml), then http://127.0.0.1:3000\n")
    return 0 if all(s.get("evaluation_report") for s in summaries.values()) and (
        not with_ce or ce_summary.get("report")) else 1


CHANNEL_ESTIMATION_SITE = "san_francisco"  # the site the profiles' channel_estimation sections are sized for


def _run_channel_estimation(defs, instance, timings: dict) -> dict:
    """The channel-estimation family's headline (seed 003, job ``channel_estimation_headline``) on San Francisco."""
    from radiomap_assets.jobs import CHANNEL_ESTIMATION_HEADLINE

    t0 = _step(f"[channel estimation] seed 003 on {CHANNEL_ESTIMATION_SITE}: complex CSI, the estimator, Fig. 5")
    res = defs.resolve_job_def("channel_estimation_headline").execute_in_process(
        instance=instance, partition_key=CHANNEL_ESTIMATION_SITE, raise_on_error=True, run_config=_quiet(
            {"ops": {name: {"config": dict(CHANNEL_ESTIMATION_HEADLINE)}
                     for name in ("csi_static_set", "csi_trajectory", "channel_estimates")}}))
    _asset_times(instance, res, timings, "[channel estimation] ")
    _done(timings, "[channel estimation] (total)", t0)
    results = res.output_for_node("channel_estimates")
    return {"report": res.output_for_node("channel_estimation_report"),
            "nmse_db": {f"{s}x{s}": {m: round(v, 2) for m, v in r.nmse_db().items()} for s, r in results.items()},
            "estimator": res.output_for_node("channel_estimator")["model_uri"]}


RUNNING_SITES_ENV = "RADIOMAP_DEMO_SITES"  # the sites of a side-by-side demo, for its workers


def _running_sites() -> list[str]:
    return [s for s in os.environ.get(RUNNING_SITES_ENV, "").split(",") if s]


def _run_sites_side_by_side(sites: list[str], paper: bool, cores: int, timings: dict,
                            with_channel_estimation: bool = False) -> tuple[dict, dict]:
    """One worker process per site (this module with ``--site S --worker-summary F``), torch and BLAS limited to
    ``cores // len(sites)`` threads each; their output is echoed line by line, each line prefixed with its site.
    With ``with_channel_estimation`` the first site to finish hands its cores to the channel-estimation family's
    worker (``--channel-estimation-worker F``) while the others still run; when that finishes, the last site running
    takes every core. Returns every site's summary and the family's (empty if it did not start) and merges their
    step timings into ``timings``."""
    threads = max(1, cores // len(sites))
    print(f"sites side by side: one process per site, {threads} torch thread(s) each ({cores} cores)", flush=True)
    env = {**os.environ, RUNNING_SITES_ENV: ",".join(sites), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    tmp = Path(tempfile.mkdtemp(prefix="radiomap-demo-"))
    workers, echoes = {}, []
    for site in sites:
        cmd = [sys.executable, "-m", "radiomap_assets.demo", "--site", site, "--worker-summary",
               str(tmp / f"{site}.json")] + (["--paper"] if paper else [])
        # a session of its own: Ctrl-C reaches the parent alone, which passes it on to the worker process only (not
        # to Dagster's helper processes, whose tracebacks would fill the screen)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, start_new_session=True)
        workers[site] = proc
        echo = threading.Thread(target=_echo, args=(proc, f"[{site}] "), daemon=True)
        echo.start()
        echoes.append(echo)
    summaries: dict[str, dict] = {}
    ce_summary: dict = {}
    ce_name = "channel_estimation"
    previous_term = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops the workers too
    try:
        waiting = dict(workers)
        while waiting:
            done = [site for site, proc in waiting.items() if proc.poll() is not None]
            if not done:
                time.sleep(1.0)
                continue
            for site in done:
                rc = waiting.pop(site).returncode
                result = tmp / f"{site}.json"
                if result.exists():
                    data = json.loads(result.read_text())
                    if site == ce_name:
                        ce_summary = data["summary"]
                    else:
                        summaries[site] = data["summary"]
                    timings.update(data["timings"])
                elif site != ce_name:
                    summaries[site] = {}
                if rc != 0:
                    print(f"[{site}] worker ended with exit status {rc}", flush=True)
            if with_channel_estimation and ce_name not in workers and waiting:  # a site freed its cores
                cmd = [sys.executable, "-m", "radiomap_assets.demo", "--channel-estimation-worker",
                       str(tmp / f"{ce_name}.json")]
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1, start_new_session=True)
                workers[ce_name] = waiting[ce_name] = proc
                echo = threading.Thread(target=_echo, args=(proc, f"[{ce_name}] "), daemon=True)
                echo.start()
                echoes.append(echo)
                print(f"[{ce_name}] started on the cores {', '.join(done)} freed", flush=True)
                continue
            if len(waiting) == 1 and cores > threads and ce_name not in waiting:  # the last one takes every core
                site, proc = next(iter(waiting.items()))
                print(f"[{site}] now {cores} torch threads: {', '.join(done)} finished", flush=True)
                proc.send_signal(signal.SIGUSR1)
    except KeyboardInterrupt:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in workers.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        for echo in echoes:
            echo.join(timeout=5)
    return summaries, ce_summary


def _take_freed_cores_on_signal() -> None:
    """In a side-by-side worker: SIGUSR1 from the parent (it is the last site running) gives torch every core; a
    default training step is 1.3x faster on two threads than on one (README, "The two commands")."""
    def every_core(signum, frame):
        import torch

        torch.set_num_threads(os.cpu_count() or 1)

    signal.signal(signal.SIGUSR1, every_core)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _echo(proc: subprocess.Popen, prefix: str) -> None:
    for line in proc.stdout:
        print(prefix + line, end="", flush=True)


def _landed_site(landing_path: Path, campaign_id: str) -> str | None:
    """The site a campaign in the landing zone declares in its manifest (None if it cannot be read)."""
    from radiomap_assets.domain import campaign as contract

    try:
        return str(json.loads((landing_path / campaign_id / contract.MANIFEST).read_text()).get("site"))
    except (OSError, ValueError, AttributeError):
        return None


def campaigns_for_worker(new: list[str], landing_path: Path, site: str, sites_running: list[str]) -> list[str]:
    """The new landed campaigns the demo ingests for ``site``: side by side, each site's worker takes the campaigns
    that declare its site, and the first one also those naming no running site (ingestion then quarantines an
    unknown site with its reason, or accepts a known site nobody runs now), so every campaign is taken exactly once."""
    def taker(cid: str) -> str:
        declared = _landed_site(landing_path, cid)
        return declared if declared in sites_running else sites_running[0]

    return [c for c in new if taker(c) == site]


def _run_site(defs, instance, site: str, paper: bool, timings: dict, sites_running: list[str]) -> dict:
    """The production graph and the evaluation of one site (its partition of every site-level asset)."""
    from dagster import AssetKey

    from radiomap_assets.assets.shared import campaign_partitions, campaign_site, simulated_kind
    from radiomap_assets.experiments import FULL_EVALUATION_COMMAND, PAPER
    from radiomap_assets.jobs import HEADLINE_RUN_CONFIG
    from radiomap_assets.sensors import landing_zone_tick
    from radiomap_assets.storage import load_partition, materialized_campaigns, partition_path as storage_path

    t0 = _step(f"[{site}] simulation: ray-traced ground-truth beam map and simulated campaigns")
    result = defs.resolve_job_def("simulate_site").execute_in_process(instance=instance, partition_key=site,
                                                                      raise_on_error=True, run_config=_quiet())
    _asset_times(instance, result, timings, f"[{site}] simulate_site: ")
    _done(timings, f"[{site}] simulation (total)", t0)

    t0 = _step(f"[{site}] landing zone: new campaigns (the sensor's logic)")
    landing_zone = defs.resources["landing_zone"]
    known = set(instance.get_dynamic_partitions(campaign_partitions.name))
    tick = landing_zone_tick(landing_zone, None, known)
    new = campaigns_for_worker(tick.new, landing_zone.landing_path, site, sites_running)
    for cid, reason in tick.quarantined:
        print(f"  quarantined {cid}: {reason}")
    for entry, error in tick.unreadable:
        print(f"  could not read {entry}: {error}")
    if new:
        instance.add_dynamic_partitions(campaign_partitions.name, new)
    print(f"  new: {new or 'none'}; already known: {len(known)} campaign(s)")
    _done(timings, f"[{site}] landing zone scan", t0)

    job = defs.resolve_job_def("ingest_campaign")
    accuracy = {}
    for cid in new:
        t0 = _step(f"ingestion: {cid}")
        res = job.execute_in_process(instance=instance, partition_key=cid, raise_on_error=True, run_config=_quiet())
        acc = res.output_for_node("coarse_location_accuracy")
        accuracy[cid] = {"production": acc}
        if acc:
            print(f"  coarse_locations (production, {acc.get('method')}, label-free): "
                  f"mean {acc['mean_error_m']:.1f} m, "
                  f"95th pct {acc['p95_error_m']:.1f} m, LOS share {acc.get('los_share', float('nan')):.2f}")
        _done(timings, f"ingest {cid}", t0)
    # a home written by an earlier version may hold the paper's protocol under the production name: recompute it
    for cid in materialized_campaigns(instance, "coarse_locations"):
        if campaign_site(cid) != site:
            continue
        if load_partition("coarse_locations", cid).attrs.get("method") not in ("geometric", "none"):
            t0 = _step(f"ingestion: {cid}: coarse_locations held another method's values (an earlier version's "
                       f"weighted centroid or ground-truth-derived ones), recomputed with the geometric locator")
            res = job.execute_in_process(instance=instance, partition_key=cid, raise_on_error=True, run_config=_quiet(),
                                         asset_selection=[AssetKey("coarse_locations"),
                                                          AssetKey("coarse_location_accuracy")])
            accuracy[cid] = {"production": res.output_for_node("coarse_location_accuracy")}
            _done(timings, f"recompute coarse_locations {cid}", t0)
    site_campaigns = [c for c in materialized_campaigns(instance, "raw_channel_measurements", "coarse_locations")
                      if campaign_site(c) == site]

    # the paper's protocol for its tables (section IV-A, C): coarse input = ground truth + N(0, 400 m^2) outdoors,
    # N(0, 25 m^2) indoors, an evaluation asset of its own, for the simulated campaigns (they have ground truth)
    protocol_job = defs.resolve_job_def("paper_protocol")
    have_protocol = set(materialized_campaigns(instance, "paper_protocol_coarse_locations",
                                               "centroid_coarse_locations"))
    for cid in site_campaigns:
        if cid in have_protocol or simulated_kind(cid) is None:
            continue
        if load_partition("raw_channel_measurements", cid).ground_truth_path is None:
            continue
        t0 = _step(f"evaluation input: paper-protocol coarse locations of {cid}")
        res = protocol_job.execute_in_process(instance=instance, partition_key=cid, raise_on_error=True,
                                              run_config=_quiet())
        acc = res.output_for_node("paper_protocol_coarse_accuracy")
        accuracy.setdefault(cid, {})["paper_noisy_ground_truth"] = acc
        production = accuracy[cid].get("production")
        if production is None and storage_path("coarse_location_accuracy", cid).exists():
            production = accuracy[cid]["production"] = load_partition("coarse_location_accuracy", cid)
        if production:
            print(f"  coarse_locations (production, {production.get('method')}): "
                  f"mean {production['mean_error_m']:.1f} m, "
                  f"95th pct {production['p95_error_m']:.1f} m")
        print(f"  paper_protocol_coarse_locations (ground truth + noise): mean {acc['mean_error_m']:.1f} m, "
              f"95th pct {acc['p95_error_m']:.1f} m")
        _done(timings, f"paper protocol {cid}", t0)

    ingested = [c for c in materialized_campaigns(instance, "masked_sparse_csi", "coarse_locations")
                if c in site_campaigns]
    if not ingested:
        print(f"[{site}] no ingested campaign: nothing to train on")
        return {}
    # The model group's model: San Francisco's is trained on the uniform trajectory's sparse CSI and production
    # coarse locations (no labels) and recovers that trajectory (experiment table1_production); the evaluation trains
    # the paper-protocol models itself. Without a uniform campaign (the indoor hall), on everything of the site.
    selected = [c for c in ingested if simulated_kind(c) == "uniform"] or ingested
    t0 = _step(f"[{site}] model: training on {', '.join(selected)} (progress every 15 s)")
    train_cfg = {"ops": {"beam_map_model": {"config": {"campaigns": selected}}}}
    res = defs.resolve_job_def("train_model").execute_in_process(instance=instance, partition_key=site,
                                                                 raise_on_error=True, run_config=_quiet(train_cfg))
    ref = res.output_for_node("beam_map_model")
    _done(timings, f"[{site}] train beam_map_model", t0)
    print(f"  registered {ref.model_uri} (MLflow run {ref.mlflow_run_id}), "
          f"{ref.parameter_count:,} parameters, "
          f"{ref.steps} steps, {ref.train_samples_per_s:.0f} samples/s")

    recovered = {}
    for cid in selected:
        t0 = _step(f"inference: recovered trajectories of {cid}")
        res = defs.resolve_job_def("recover_trajectories").execute_in_process(instance=instance, partition_key=cid,
                                                                              raise_on_error=True, run_config=_quiet())
        out = res.output_for_node("recovered_trajectory_accuracy")
        _done(timings, f"recover {cid}", t0)
        if out:
            recovered[cid] = out
            print(f"  recovered: mean {out['recovered']['mean_error_m']:.2f} m, 95th pct "
                  f"{out['recovered']['p95_error_m']:.2f} m  |  coarse input ({out['coarse_method']}): mean "
                  f"{out['coarse']['mean_error_m']:.2f} m, 95th pct {out['coarse']['p95_error_m']:.2f} m")

    t0 = _step(f"[{site}] inference: generated beam map (Zarr)")
    res = defs.resolve_job_def("generate_beam_map").execute_in_process(instance=instance, partition_key=site,
                                                                       raise_on_error=True, run_config=_quiet())
    beam_map_path = res.output_for_node("beam_maps")
    print(f"  wrote {beam_map_path}")
    _done(timings, f"[{site}] generate beam_maps", t0)

    # make demo: the headline (Table I on both coarse inputs / Table III, floors, SKF, proposed + variants);
    # make paper: all
    job_name, what = (("evaluate", "every table and figure of paper section IV (baselines, experiments), report")
                      if paper else ("evaluate_headline", "headline: Table I on the paper's protocol and on the "
                                     "production input (San Francisco) or Table III (indoor hall), floors, SKF, "
                                     "proposed and its variants, report"))
    t0 = _step(f"[{site}] evaluation ({job_name}): {what}")
    selection = {} if paper else HEADLINE_RUN_CONFIG  # a run config replaces the job's own: pass the selection too
    res = defs.resolve_job_def(job_name).execute_in_process(instance=instance, partition_key=site,
                                                            raise_on_error=True, run_config=_quiet(selection))
    report = res.output_for_node("evaluation_report")
    _asset_times(instance, res, timings, f"[{site}] {job_name}: ")
    _done(timings, f"[{site}] {job_name} (total)", t0)
    not_run = res.output_for_node("experiment_campaigns").get("not_run", {})
    print("  ratios (ours | paper):")
    for k, v in report["ratios"].items():
        ours = "not run" if v is None and not_run else (None if v is None else round(v, 3))
        print(f"    {k:<48s} {ours!s:>8s} | {PAPER['ratios'].get(k)}")
    if not_run:
        print(f"  not run: {', '.join(sorted(not_run))} (the report says so where they stand); "
              f"{FULL_EVALUATION_COMMAND} runs every table and figure")
    return {"evaluation_job": job_name, "coarse_location_accuracy": accuracy, "model": ref.model_uri,
            "recovered_trajectory_accuracy": recovered, "beam_map": str(beam_map_path), "evaluation_report": report}


def _main_interruptible() -> int:
    """``main`` with Ctrl-C answered by one line instead of a traceback per running step (and per worker)."""
    from dagster._core.errors import DagsterExecutionInterruptedError  # what a step interrupted by Ctrl-C raises

    try:
        return main()
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        print("\ninterrupted: what finished is kept (materializations, MLflow versions, training checkpoints); "
              "run the same command again to go on from there", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(_main_interruptible())
