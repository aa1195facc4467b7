"""Study (issue 10, the production coarse input), not part of the pipeline: the geometric locator
(``domain.geometric_locator``, what ``coarse_locations`` runs) on a finished ``make demo`` home's San Francisco
campaigns with other ``PropagationPrior`` settings, scored against their ground truth (read to score only).

It calls the production functions on the production inputs (the campaigns' sparse CSI, their weighted centroid as
the weak prior, the site's walkable grid and line of sight from the scene), so its "production" row reproduces the
stored ``coarse_locations``. ``--tune-walks N``: score the random campaign on its first N trajectories only (the
walks the settings were chosen on in sessions 9-10 were the first 12); the rest are the check.

    .venv/bin/python scripts/study_geometric_locator.py --home /tmp/fresh/demo/.radiomap \\
        [--campaigns uniform random complex uniform_m1 uniform_m5] [--set speed_m_s=2 fast_share=0.05 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from radiomap_assets.domain.geometric_locator import (PropagationPrior, campaign_geometric_locations,  # noqa: E402
                                                      positioned_base_stations)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default=".radiomap")
    ap.add_argument("--campaigns", nargs="+", default=["uniform", "random", "complex", "uniform_m1", "uniform_m5"])
    ap.add_argument("--set", nargs="*", default=[], help="PropagationPrior fields, e.g. fast_share=0.05")
    ap.add_argument("--tune-walks", type=int, default=0, help="random campaign: also score its first N walks")
    args = ap.parse_args()
    os.environ.setdefault("RADIOMAP_PROFILE", "default")
    from scripts.study_map_refined_locator import error, load
    from resources import SionnaScene
    from resources.profile import RunProfile

    prior = dataclasses.replace(PropagationPrior(), **{k: float(v) for k, v in (a.split("=") for a in args.set)})
    home = Path(args.home)
    ids = {p.name.split("-")[2]: p.name for p in (home / "campaigns").iterdir() if p.name.startswith("san-francisco")}
    scene = SionnaScene(run_profile=RunProfile(name="default")).at("san_francisco")
    site_grid = scene.site_grid()
    print(f"prior {prior}")
    for kind in args.campaigns:
        c = load(home, ids[kind])
        bs_xyz = np.array([[b["x_m"], b["y_m"], b["z_m"]] for b in c["manifest"]["base_stations"]])
        cells, los = scene.line_of_sight_to_cells(site_grid, bs_xyz[positioned_base_stations(bs_xyz)])
        t0 = time.perf_counter()
        xy = campaign_geometric_locations(c["power"], c["csi"].trajectory_id, c["csi"].t_s, c["manifest"], bs_xyz,
                                          cells, los, site_grid, scene.site.tx_power_dbm, prior, c["centroid"])
        line = f"{kind:11s} stored {error(c['located'], c['truth'])} | this prior {error(xy, c['truth'])}"
        if kind == "random" and args.tune_walks:
            first = np.isin(c["csi"].trajectory_id, list(dict.fromkeys(c["csi"].trajectory_id.tolist()))[
                :args.tune_walks])
            line += f" | first {args.tune_walks} walks {error(xy[first], c['truth'][first])}"
        print(line + f" ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
