"""Cost of one landing-zone sensor tick against the number of campaigns ever landed (issue 15, item 7).

For each N (default 100, 1,000, 10,000) a throw-away home holds N campaigns landed and accepted earlier (their
folders under ``campaigns/``, N dynamic partitions in an ephemeral Dagster instance, and the cursor the sensor kept
after accepting them), and 5 new complete campaigns in the landing zone. It times ``landing_zone_tick`` (the
sensor's whole logic: scan, fingerprints, cursor) and the instance lookups the sensor makes
(``partitions_in_landing_zone``; beside it, what listing every partition would cost): the first
tick starts from the cursor an unbounded sensor would have kept (every id ever requested), the steady state is the
median of the ``--repeat`` ticks after it, each from the cursor the previous tick left (each on a fresh copy of the 5
new campaigns, under new ids). Prints the cursor's size before and after.

    .venv/bin/python scripts/benchmark_sensor_tick.py [--sizes 100 1000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dagster import DagsterInstance  # noqa: E402

from radiomap_assets.sensors import encode_cursor, landing_zone_tick, partitions_in_landing_zone  # noqa: E402
from resources import LandingZone  # noqa: E402
from tests.campaign_corpus import write_good  # noqa: E402


def one_size(n: int, repeat: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="radiomap-sensor-bench-"))
    try:
        zone = LandingZone(root=str(root))
        zone.ensure()
        old = [f"old-{i:06d}" for i in range(n)]
        for cid in old:  # accepted earlier: the folder exists (its contents are never read by a tick)
            (zone.accepted_path / cid).mkdir()
        instance = DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("campaign", old)
        template = root / "template"
        for k in range(5):
            write_good(template, f"new-{k}")
        # the cursor an unbounded sensor would carry: every campaign ever requested
        unbounded = encode_cursor({cid: "0123456789abcdef" for cid in old})
        times, list_times, list_all, cursor = [], [], [], unbounded
        for r in range(repeat + 1):
            batch = []
            for k in range(5):  # 5 new campaigns land; the previous 5 were accepted by their ingestion
                cid = f"new-{r}-{k}"
                shutil.copytree(template / f"new-{k}", zone.landing_path / cid)
                (zone.landing_path / cid / "manifest.json").write_text(
                    (template / f"new-{k}" / "manifest.json").read_text().replace(f'"new-{k}"', f'"{cid}"'))
                batch.append(cid)
            t0 = time.perf_counter()
            known = partitions_in_landing_zone(instance, zone)  # what the sensor reads from the instance
            t1 = time.perf_counter()
            list_all.append(len(instance.get_dynamic_partitions("campaign")) and time.perf_counter() - t1)
            tick = landing_zone_tick(zone, cursor, known)
            t2 = time.perf_counter()
            assert sorted(tick.new) == batch, tick.new
            list_times.append(t1 - t0)
            times.append(t2 - t1)
            cursor = tick.cursor
            instance.add_dynamic_partitions("campaign", batch)
            for cid in batch:
                shutil.move(str(zone.landing_path / cid), str(zone.accepted_path / cid))
        return {"n": n, "first_tick_ms": 1e3 * times[0], "tick_ms": 1e3 * statistics.median(times[1:]),
                "partitions_ms": 1e3 * statistics.median(list_times[1:]),
                "all_partitions_ms": 1e3 * statistics.median(list_all[1:]), "cursor_in_bytes": len(unbounded),
                "cursor_out_bytes": len(cursor)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rows = [one_size(n, args.repeat) for n in args.sizes]
    print(f"{'campaigns ever landed':>22} {'first tick [ms]':>16} {'tick [ms]':>10} {'partition lookups [ms]':>23} "
          f"{'(listing all) [ms]':>19} {'cursor before':>14} {'cursor after':>13}")
    for r in rows:
        print(f"{r['n']:>22,} {r['first_tick_ms']:>16.1f} {r['tick_ms']:>10.1f} {r['partitions_ms']:>23.1f} "
              f"{r['all_partitions_ms']:>19.1f} {r['cursor_in_bytes']:>14,} {r['cursor_out_bytes']:>13,}")
    base = rows[0]["tick_ms"]
    print("tick time relative to the smallest size: " + ", ".join(f"{r['n']:,}: {r['tick_ms'] / base:.2f}x"
                                                                 for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
