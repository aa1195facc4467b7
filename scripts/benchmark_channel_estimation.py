"""Seed 003's experiment (section VI, Figs. 4-6) at a CPU size: NMSE in dB along a user trajectory for LS (the
paper's), LMMSE with the training set's sample covariance and angular-domain OMP (ours), the proposed autoencoder
+ LSTM tracker with and without L_TC, the proposed with the paper's amplitude/phase features of eq. (5) (the
others use our real/imag features, ``--representation``), and the end-to-end LSTM, at a 10x10 and a 20x20 BS
array, with wall times (training + estimation) and parameter counts.

Data (complex H at the carrier's subcarrier; the paper's DeepMIMO Chicago scenario cannot be downloaded here):

- ``synthetic``: a street canyon of reflecting walls and the ground (``domain.geometric_csi.street_canyon``),
  a BS 25 m high, a static set uniform over a 30 m x 30 m area 40-70 m away and a smooth walk of 0.5 m steps;
- ``sionna`` (``--sionna``): San Francisco ray traced with Sionna RT (PathSolver, depth 3, diffraction) at 3.5 GHz:
  one rooftop BS in a 200 m x 200 m crop, a static set over the walkable cells and a back-and-forth street walk of
  0.5 m steps; positions that no path reaches are dropped (their count is printed).

Run (about 10 minutes at the defaults on 2 cores; ``--sionna`` doubles it):

    .venv/bin/python scripts/benchmark_channel_estimation.py [--steps 1000] [--static 1111] [--trajectory 100]
        [--arrays 10 20] [--sionna] [--no-synthetic] [--threads 1] [--representation real_imag] [--sizes cpu|paper]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from models.channel_estimation.config import ChannelEstimationConfig, cpu_config
from models.channel_estimation.experiment import METHODS, latent_roughness, run
from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid
from radiomap_assets.domain.geometric_csi import smooth_walk, street_canyon

AREA = (40.0, -15.0, 70.0, 15.0)  # the synthetic users' area (x_min, y_min, x_max, y_max) metres
STEP_M = 0.5  # user displacement per coherence interval


def synthetic_data(config, static: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    env = street_canyon(rng, AREA)
    ofdm = OfdmGrid(config.carrier_frequency_hz, config.bandwidth_hz, config.num_subcarriers)
    bs, ue = ArrayGeometry(config.bs_rows, config.bs_cols), ArrayGeometry(config.ue_rows, config.ue_cols)
    pos = np.c_[rng.uniform(AREA[0], AREA[2], static), rng.uniform(AREA[1], AREA[3], static), np.full(static, 1.5)]
    walk = smooth_walk(rng, steps, STEP_M, AREA)
    k = ofdm.centre_subcarrier
    return (env.channel(pos, bs, ue, ofdm, ue_yaw_deg=180.0)[..., k], pos,
            env.channel(walk, bs, ue, ofdm, ue_yaw_deg=180.0)[..., k], "")


class SanFrancisco:
    """The ray-traced site, loaded once: scene, geometry of a 200 m crop, one rooftop BS, positions."""

    def __init__(self, carrier_frequency_hz: float, static: int, steps: int, seed: int):
        from radiomap_assets.domain import raytrace
        from radiomap_assets.domain.grid import Grid
        from radiomap_assets.domain.raytrace_csi import load_csi_scene, static_positions, user_heights
        from radiomap_assets.domain.trajectories import StreetGraph, uniform_trajectory

        rng = np.random.default_rng(seed)
        self.scene = load_csi_scene("san_francisco", carrier_frequency_hz)
        geometry = raytrace.scene_geometry(self.scene, Grid.covering((-100.0, -100.0, 100.0, 100.0), 2.0))
        bs = raytrace.place_base_stations(geometry, 1, 4.0)[0]
        self.bs_position, self.bs_yaw_deg = (bs["x_m"], bs["y_m"], bs["z_m"]), bs["yaw_deg"]
        self.static = static_positions(geometry, static, 1.5, rng)
        walk = uniform_trajectory(StreetGraph(geometry.grid, geometry.walkable), steps * STEP_M, 1.0 / STEP_M, rng,
                                  "walk", speed_mps=1.0)
        xy = walk.xy[:steps]
        self.walk = np.c_[xy, user_heights(geometry, xy, 1.5)]

    def data(self, config):
        from radiomap_assets.domain.raytrace_csi import trace_csi, yaw_toward

        ofdm = OfdmGrid(config.carrier_frequency_hz, config.bandwidth_hz, config.num_subcarriers)
        bs, ue = ArrayGeometry(config.bs_rows, config.bs_cols), ArrayGeometry(config.ue_rows, config.ue_cols)
        t0 = time.perf_counter()
        out = []
        for pos in (self.static, self.walk):
            H = trace_csi(self.scene, self.bs_position, bs, pos, ue, ofdm, bs_yaw_deg=self.bs_yaw_deg,
                          ue_yaw_deg=yaw_toward(pos, self.bs_position), max_depth=3, samples_per_src=100_000,
                          diffraction=True)[..., ofdm.centre_subcarrier]
            reached = np.abs(H).reshape(len(H), -1).max(axis=1) > 0
            out += [H[reached], pos[reached], int((~reached).sum())]
        note = (f"ray traced in {time.perf_counter() - t0:.0f} s; dropped without a path: {out[2]} static, "
                f"{out[5]} of the walk")
        return out[0], out[1], out[3], note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps of every network")
    parser.add_argument("--static", type=int, default=1111, help="static training samples (the paper: 1,111)")
    parser.add_argument("--trajectory", type=int, default=100, help="coherence intervals of the test walk")
    parser.add_argument("--arrays", type=int, nargs="+", default=[10, 20], help="BS array sides (10: Fig. 5)")
    parser.add_argument("--subcarriers", type=int, default=16)
    parser.add_argument("--sizes", default="cpu", choices=["cpu", "paper"],
                        help="network sizes: cpu_config's, or the paper's (encoder [1280, 256], LSTM 3 x 64)")
    parser.add_argument("--representation", default="real_imag", choices=["real_imag", "amplitude_phase"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--sionna", action="store_true", help="also on ray-traced San Francisco CSI")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the synthetic street canyon")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}, torch threads {torch.get_num_threads()}")
    sf = None
    sources = ([] if args.no_synthetic else ["synthetic"]) + (["sionna"] if args.sionna else [])
    rows = []
    for side in args.arrays:
        sizes = dict(bs_rows=side, bs_cols=side, num_subcarriers=args.subcarriers, ae_steps=args.steps,
                     tracker_steps=args.steps, e2e_steps=args.steps, representation=args.representation)
        config = cpu_config(**sizes) if args.sizes == "cpu" else ChannelEstimationConfig(**sizes)
        for source in sources:
            if source == "sionna":
                sf = sf or SanFrancisco(config.carrier_frequency_hz, args.static, args.trajectory, args.seed)
                H_static, pos, H_walk, note = sf.data(config)
            else:
                H_static, pos, H_walk, note = synthetic_data(config, args.static, args.trajectory, args.seed)
            print(f"\n== {source}, BS {side}x{side} (N_B N_U = {config.num_bs_antennas * config.num_ue_antennas}, "
                  f"M_B M_U = {config.num_observations}), {len(H_static)} static, {len(H_walk)} walk {note}")
            result = run(config, H_static, pos, H_walk, methods=tuple(args.methods), seed=args.seed)
            print(f"  mean SNR per antenna pair {result.snr_db:.0f} dB; parameters {result.parameters}")
            print(f"  autoencoder floors (dB): {({k: round(v, 1) for k, v in result.autoencoder_floor_db.items()})}")
            print(f"  Fig. 4 latent roughness: "
                  f"{({k: round(latent_roughness(v), 1) for k, v in result.latent_distance.items()})}")
            rows.append((source, side, result))
    print("\nNMSE in dB over the walk (wall seconds, training + estimation)")
    print(f"{'data':10s} {'BS':6s}" + "".join(f"{m:>22s}" for m in args.methods))
    for source, side, result in rows:
        db = result.nmse_db()
        print(f"{source:10s} {side}x{side:<4d}" + "".join(
            f"{db[m]:>13.2f} ({result.wall_s[m]:5.0f} s)" for m in args.methods))


if __name__ == "__main__":
    main()
