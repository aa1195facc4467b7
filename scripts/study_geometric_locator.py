"""Study (issue 10, the production-input bar), not part of the pipeline: a label-free coarse locator from the
site's geometry and the arrays' physics, with no learned model and no measurement label.

Per walkable cell of the model grid and per (base station, beam): the power a line-of-sight user would measure
(transmit power + the beam's array factor toward the cell + free-space loss), and whether the cell sees the base
station (scene geometry). Each sample's log-likelihood over cells: a Gaussian residual (LOS: +LOS_MU dB, LOS_SD; NLOS:
NLOS_MU, NLOS_SD), censored at the noise floor; then an HMM over walkable cells at 1 s steps (a Gaussian motion
blur of SPEED m/s), forward-backward, posterior mean. Reads a finished `make demo` home (default profile): the
uniform campaign's masked sparse CSI, its production coarse input and ground truth (to score only), the site grid,
and the line-of-sight flags stored with the ground-truth map (a function of the scene's geometry only, what
radiomap_assets.domain.raytrace.line_of_sight computes; a pipeline version would compute them on the model grid).

Measured 2026-11-28 (session 9) on the demo home of 8ae514c, Table I's uniform walk (6,045 samples): per-sample
maximum likelihood 143 m mean (median 98 m); the HMM 86.6 m mean (median 56 m, 95th 219 m) with (5, 6, -25, 20,
2 m/s), 82.6 m with (5, 8, -30, 15, 1.5 m/s); the weighted centroid 144.5 m, the floors 136.1-137.7 m, the model
group's model 136.0 m. The residual against the free-space prediction at the true positions: LOS +0.4 to +6.7 dB
(std 3-12 dB), NLOS -12 to -55 dB (std 11-28 dB).

    .venv/bin/python scripts/study_geometric_locator.py --home .radiomap [--campaign ID] [--los-mu 5 ...]
"""

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import gaussian_filter
from scipy.special import log_ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from radiomap_assets.domain.codebook import codebook_beam_directions  # noqa: E402
from radiomap_assets.sites import get_site  # noqa: E402

FLOOR_DBM = -119.0  # below: the noise floor (censored)


def free_space_prediction(manifest: dict, xx, yy, uez, tx_power_dbm: float) -> np.ndarray:
    """(B, W, ny, nx) dBm a line-of-sight user would measure: transmit power + the ULA beam's array factor toward
    the cell (direction cosine along the array axis, elevation included) + free-space loss."""
    bss = manifest["base_stations"]
    n_ant = int(bss[0]["num_antennas"])
    u_beams = codebook_beam_directions(manifest["codebook"], n_ant)[:, 0]
    lam = 3e8 / float(manifest["carrier_frequency_hz"])
    n = np.arange(n_ant)
    pred = np.zeros((len(bss), len(u_beams)) + xx.shape)
    for b, bs in enumerate(bss):
        dx, dy, dz = xx - bs["x_m"], yy - bs["y_m"], uez - bs["z_m"]
        dh = np.hypot(dx, dy)
        d = np.sqrt(dh ** 2 + dz ** 2)
        u = np.sin(np.arctan2(dy, dx) - np.radians(bs["yaw_deg"])) * np.cos(np.arctan2(dz, dh))
        for j, uj in enumerate(u_beams):
            af = np.abs(np.exp(1j * np.pi * n * (u[..., None] - uj)).sum(-1)) ** 2 / n_ant
            pred[b, j] = tx_power_dbm + 10 * np.log10(af + 1e-6) - 20 * np.log10(4 * np.pi * d / lam)
    return pred


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default=".radiomap")
    ap.add_argument("--campaign", default=None, help="default: the uniform San Francisco campaign")
    ap.add_argument("--los-mu", type=float, default=5.0)
    ap.add_argument("--los-sd", type=float, default=6.0)
    ap.add_argument("--nlos-mu", type=float, default=-25.0)
    ap.add_argument("--nlos-sd", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=2.0, help="m/s of the HMM's motion blur")
    args = ap.parse_args()
    home = Path(args.home)
    cid = args.campaign or next(p.name for p in (home / "campaigns").iterdir() if "-uniform-" in p.name)
    manifest = json.loads((home / "campaigns" / cid / "manifest.json").read_text())
    csi = pickle.load(open(home / "storage" / "masked_sparse_csi" / cid, "rb"))
    coarse = pickle.load(open(home / "storage" / "coarse_locations" / cid, "rb"))
    gt = pd.read_parquet(home / "campaigns" / cid / "ground_truth.parquet").sort_values(["trajectory_id", "t_s"])
    sg = pickle.load(open(home / "storage" / "site_grid" / manifest["site"], "rb"))
    store = xr.open_zarr(home / "beam_maps" / f"ground_truth_{manifest['site']}" / "latest.zarr")
    grid, walk = sg.grid, sg.walkable
    ny, nx = grid.shape
    xx, yy = np.meshgrid(grid.x0 + (np.arange(nx) + 0.5) * grid.resolution_m,
                         grid.y0 + (np.arange(ny) + 0.5) * grid.resolution_m)
    at = {"x": xr.DataArray(xx.ravel(), dims="c"), "y": xr.DataArray(yy.ravel(), dims="c")}
    los = store.los.sel(**at, method="nearest").values.reshape(-1, ny, nx)  # scene geometry only
    uez = np.nan_to_num(store.ue_z_m.sel(**at, method="nearest").values.reshape(ny, nx), nan=2.0)
    pred = free_space_prediction(manifest, xx, yy, uez, get_site(manifest["site"]).tx_power_dbm)
    n_bs, n_w = pred.shape[:2]
    iy, ix = np.nonzero(walk)
    mu = pred[:, :, iy, ix].reshape(n_bs * n_w, -1)
    los_e = np.repeat(los[:, iy, ix], n_w, axis=0)
    mu = np.where(los_e, mu + args.los_mu, mu + args.nlos_mu).astype(np.float32)
    sd = np.where(los_e, args.los_sd, args.nlos_sd).astype(np.float32)
    obs = csi.power_dbm().reshape(len(csi.t_s), n_bs * n_w)
    t0 = time.time()
    loglik = np.zeros((len(obs), len(iy)), np.float32)
    for k in range(len(obs)):
        e = np.nonzero(~np.isnan(obs[k]))[0]
        v = obs[k, e][:, None]
        z = (v - mu[e]) / sd[e]
        loglik[k] = np.where(v > FLOOR_DBM, -0.5 * z * z - np.log(sd[e]), log_ndtr(z)).sum(0)
    centres = np.stack([grid.x0 + (ix + 0.5) * grid.resolution_m, grid.y0 + (iy + 0.5) * grid.resolution_m], 1)
    truth = gt[["x_m", "y_m"]].to_numpy()

    def error(xy):
        e = np.linalg.norm(xy - truth, axis=1)
        return f"mean {e.mean():.1f} m, median {np.median(e):.1f} m, 95th {np.percentile(e, 95):.1f} m"

    print(f"likelihood over {len(iy):,} cells for {len(obs):,} samples: {time.time() - t0:.0f} s")
    print("weighted centroid (production coarse input):", error(coarse[["x_m", "y_m"]].to_numpy()))
    print("per-sample maximum likelihood:", error(centres[loglik.argmax(1)]))
    out = np.zeros((len(obs), 2))
    for tid in np.unique(csi.trajectory_id):
        sel = np.nonzero(csi.trajectory_id == tid)[0]
        dt = float(np.median(np.diff(csi.t_s[sel]))) if len(sel) > 1 else 0.1
        pool = max(1, int(round(1.0 / dt)))
        groups = [sel[i:i + pool] for i in range(0, len(sel), pool)]
        ll = np.stack([loglik[g].sum(0) for g in groups])
        sigma = max(0.5, args.speed * pool * dt / grid.resolution_m)

        def blur(p):
            img = np.zeros((ny, nx))
            img[iy, ix] = p
            q = gaussian_filter(img, sigma, mode="constant")[iy, ix] + 1e-300
            return q / q.sum()

        alpha, prior = np.zeros_like(ll, dtype=np.float64), np.full(len(iy), 1.0 / len(iy))
        for k in range(len(groups)):  # forward
            a = prior * np.exp(ll[k] - ll[k].max())
            alpha[k] = a / a.sum()
            prior = blur(alpha[k])
        beta = np.ones(len(iy))
        for k in range(len(groups) - 1, -1, -1):  # backward, posterior mean
            post = alpha[k] * beta + 1e-300
            out[groups[k]] = (post / post.sum()) @ centres
            beta = blur(beta * np.exp(ll[k] - ll[k].max()))
    print(f"HMM over walkable cells ({args.speed} m/s):", error(out))


if __name__ == "__main__":
    main()
