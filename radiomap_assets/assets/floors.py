"""Evaluation group: the floors of every localization table, from the coarse input alone (no radio map, no labels).

``coarse_floors`` returns ``{experiment: {floor: run}}`` for every experiment, a run holding per test trajectory
the estimated positions (``xy``) and the wall time (``seconds``), the shape of the other method assets' runs; the
report scores them beside the methods. The SKF twice (``skf``, ``skf_causal``) is the radio-map floor, in
``skf_baseline``.
"""


import time

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from models.baselines import floors
from radiomap_assets.assets.experiment_inputs import GROUP, experiment_data
from radiomap_assets.assets.shared import site_partitions
from radiomap_assets.experiments import MethodRun


@asset(group_name=GROUP, kinds={"numpy"}, partitions_def=site_partitions,
       description="Floors from the coarse input alone, per experiment (test trajectories): centred 1 s and 10 s "
                   "moving averages and a constant-velocity Kalman/RTS smoother whose noise levels are chosen by "
                   "the innovation likelihood. No radio map, no labels: a method must beat them.")
def coarse_floors(context: AssetExecutionContext, experiment_campaigns: dict) -> Output[dict]:
    runs: dict[str, dict] = {}
    for exp in experiment_campaigns["experiments"]:
        _, test = experiment_data(experiment_campaigns, exp)
        per_floor = {name: MethodRun([]) for name in floors.FLOOR_NAMES}
        noise = []
        for d in test:
            t0 = time.perf_counter()
            ma1 = floors.moving_average(d.t_s, d.coarse_xy, 1.0)
            t1 = time.perf_counter()
            ma10 = floors.moving_average(d.t_s, d.coarse_xy, 10.0)
            t2 = time.perf_counter()
            chosen = floors.choose_cv_noise(d.t_s, d.coarse_xy)
            cv = floors.cv_smoother(d.t_s, d.coarse_xy, chosen)
            t3 = time.perf_counter()
            for name, xy, sec in (("coarse_ma_1s", ma1, t1 - t0), ("coarse_ma_10s", ma10, t2 - t1),
                                  ("cv_smoother", cv, t3 - t2)):
                per_floor[name].xy.append(xy)
                per_floor[name].seconds += sec
            noise.append({"trajectory_id": d.trajectory_id, "coarse_variance_m2": chosen.coarse_variance_m2,
                          "accel_psd": chosen.accel_psd, "on_grid_edge": chosen.on_grid_edge})
        per_floor["cv_smoother"].diagnostics["noise"] = noise  # the likelihood's choice per trajectory (diagnostics)
        runs[exp] = per_floor
        context.log.info(f"floors {exp}: {sum(len(d) for d in test):,} samples, cv smoother "
                         f"{per_floor['cv_smoother'].seconds:.1f} s; chosen R (m^2) "
                         f"{sorted(round(n['coarse_variance_m2']) for n in noise)}")
    meta = {"experiments": MetadataValue.json(
        {e: {"trajectories": len(r["cv_smoother"].xy),
             "cv_noise": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in n.items()}
                          for n in r["cv_smoother"].diagnostics["noise"][:20]]} for e, r in runs.items()})}
    return Output(runs, metadata=meta)
