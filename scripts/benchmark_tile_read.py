"""One beam-map tile read through the analyst API (issue 15, item 4: <= 20 ms and <= 2x the tile's bytes read).

Writes a map of San Francisco's default size (5 base stations x 16 beams on the 5 m grid of its 710 m x 740 m
region, float32 values with the spread of a real map) into a throw-away store, then reads a tile of one chunk (one
base station, every beam, 128 x 128 cells = 640 m square) ``--repeat`` times with ``analyst.read_tile`` (opening the
store each time, as an analyst's call does) and a second, unaligned window that straddles four chunks. Prints the
median time and the bytes zarr read against the tile's own bytes.

    .venv/bin/python scripts/benchmark_tile_read.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from zarr.storage import LocalStore  # noqa: E402

from radiomap_assets import analyst  # noqa: E402
from radiomap_assets.domain import beam_map_store as store  # noqa: E402
from radiomap_assets.domain.grid import Grid  # noqa: E402
from radiomap_assets.sites import get_site  # noqa: E402

READ = {"bytes": 0}
_get = LocalStore.get


async def _counting_get(self, key, prototype, byte_range=None):
    buf = await _get(self, key, prototype, byte_range)
    if buf is not None:
        READ["bytes"] += len(buf)
    return buf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    site = get_site("san_francisco")
    grid = Grid.covering(site.region_m, site.grid_resolution_m)
    rng = np.random.default_rng(0)
    power = (rng.normal(-80, 12, (5, 16) + grid.shape)).astype(np.float32)
    bss = [{"bs_id": b, "x_m": 0.0, "y_m": 0.0, "z_m": 20.0, "yaw_deg": 0.0} for b in range(5)]
    home = Path(tempfile.mkdtemp(prefix="radiomap-tile-bench-"))
    ds = store.beam_map_dataset(power, grid, bss, np.ones(grid.shape, bool), {"site": "bench"})
    store.write_beam_map(ds, home / "beam_maps", "generative_bench", version="v0")
    LocalStore.get = _counting_get
    x0, y0, r = grid.x0, grid.y0, grid.resolution_m
    windows = {"one chunk (aligned)": ((x0, x0 + 128 * r - r / 2), (y0, y0 + 128 * r - r / 2)),
               "unaligned, 4 chunks": ((x0 + 100 * r, x0 + 164 * r), (y0 + 100 * r, y0 + 164 * r))}
    print(f"map {power.shape} float32 ({power.nbytes / 1e6:.1f} MB), chunks (1, 16, 128, 128)")
    for label, (xs, ys) in windows.items():
        times, ratio = [], 0.0
        for _ in range(args.repeat):
            READ["bytes"] = 0
            t0 = time.perf_counter()
            tile = analyst.read_tile("bench", xs, ys, bs=2, home=home)
            times.append(time.perf_counter() - t0)
            ratio = READ["bytes"] / tile.nbytes
        print(f"{label}: tile {tile.shape} = {tile.nbytes / 1e6:.2f} MB; median {statistics.median(times) * 1e3:.1f} "
              f"ms over {args.repeat} reads (min {min(times) * 1e3:.1f}); zarr read {READ['bytes'] / 1e6:.2f} MB = "
              f"{ratio:.2f}x the tile's bytes")


if __name__ == "__main__":
    main()
