"""`make demo` runs the sites side by side, one worker process per site (radiomap_assets.demo): every landed campaign
is ingested by exactly one worker, its own site's (fast, no Dagster)."""

import json

from radiomap_assets.demo import campaigns_for_worker


def _land(root, cid, manifest):
    (root / cid).mkdir(parents=True)
    (root / cid / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))


def test_each_landed_campaign_goes_to_exactly_one_site_worker(tmp_path):
    _land(tmp_path, "hall-a", {"site": "indoor_hall"})
    _land(tmp_path, "sf-a", {"site": "san_francisco"})
    _land(tmp_path, "mars-a", {"site": "mars"})  # unknown site: ingestion quarantines it, with the list of sites
    _land(tmp_path, "broken-a", "{not json")  # unreadable manifest: ingestion quarantines it with the parse error
    _land(tmp_path, "other-a", {"site": "somewhere_known_but_not_running"})
    new = ["broken-a", "hall-a", "mars-a", "other-a", "sf-a"]
    running = ["indoor_hall", "san_francisco"]
    hall = campaigns_for_worker(new, tmp_path, "indoor_hall", running)
    sf = campaigns_for_worker(new, tmp_path, "san_francisco", running)
    assert sf == ["sf-a"]
    assert hall == ["broken-a", "hall-a", "mars-a", "other-a"]  # the first worker takes the rest
    assert sorted(hall + sf) == sorted(new)
    # one site alone takes everything
    assert campaigns_for_worker(new, tmp_path, "san_francisco", ["san_francisco"]) == new


def test_the_last_site_worker_running_takes_every_core_on_the_parents_signal():
    """Side by side, each site worker starts on its share of the cores; when the other site finishes, the parent's
    SIGUSR1 gives the one still running every core (torch's intra-op threads)."""
    import os
    import subprocess
    import sys

    code = ("import os, signal, time, torch\n"
            "from radiomap_assets.demo import _take_freed_cores_on_signal\n"
            "torch.set_num_threads(1)\n_take_freed_cores_on_signal()\n"
            "os.kill(os.getpid(), signal.SIGUSR1)\ntime.sleep(0.1)\nprint(torch.get_num_threads())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == (os.cpu_count() or 1)
