"""scripts/benchmark_training_step.py runs without a trained model and returns sane figures (smoke size, one
timed step, one thread: on a machine shared with other jobs two threads can be many times slower)."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark_training_step.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("benchmark_training_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_training_step_on_the_smoke_size():
    bench = _load_script()
    res = bench.run_benchmark(("smoke",), timed_steps=1, warmup_steps=0, part_reps=1, matmul_sizes=(512,),
                              matmul_repeats=2, trajectory_s=60.0, threads=1)
    s = res["sizes"]["smoke"]
    for key in ("parameters", "flops_per_step", "flops_per_sample", "samples_per_s", "step_seconds_median",
                "achieved_gflops", "ceiling_gflops"):
        assert s[key] > 0, key
    assert res["machine"]["ceiling_gflops"] > 0 and res["machine"]["threads"] == 1
    assert 0 < s["share_of_ceiling"] < 1.5
    assert s["flops_per_sample"] * s["samples_per_step"] == s["flops_per_step"]
    assert set(s["parts"]) == set(bench.PARTS)
    for name in ("feature_extractor", "temporal_encoder", "location_codebook_losses", "diffusion_loss"):
        assert s["parts"][name]["seconds"] > 0 and s["parts"][name]["flops"] > 0, name
    # the counted FLOP of the model parts make up the step's (same ops, timed apart)
    parts_flops = sum(p["flops"] for p in s["parts"].values())
    assert 0.8 < parts_flops / s["flops_per_step"] < 1.2
    table = bench.format_table(res)
    assert "samples/s" in table and "share of matmul ceiling" in table
    json.dumps(res)  # what --json writes
