"""The measurement model of eq. (2) and the masked sparse CSI vector g̊ = g ⊙ m of section II-A.

eq. (2): rho(p, w_j) = E|h(p) w_j|^2 + n. The ray-traced beam map is the expectation E|h w_j|^2 (in dBm after the
transmit power), n is Gaussian measurement noise in dB, and at every sample M beams per base station are observed,
chosen uniformly without replacement (the paper's sparse observation). Values are clipped at the noise floor.

Normalization of g (documented choice): g = (power_dbm - NOISE_FLOOR_DBM) / DYNAMIC_RANGE_DB, affine and never
clipped (issue 14: a campaign's -210 dBm and +10 dBm keep their order and their difference), so the noise floor maps
to 0 and NOISE_FLOOR_DBM + DYNAMIC_RANGE_DB to 1; the simulated sites' measurements lie in [0, 1.05]. Unobserved
entries are 0 with m = 0 (the mask, not the value, says what was observed).
Entry k of g and m is (base station at position b in the manifest, beam j): ``beam_layout.BeamLayout``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radiomap_assets.domain.beam_layout import BeamLayout
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.raytrace import NOISE_FLOOR_DBM

DYNAMIC_RANGE_DB = 100.0


def normalize_power(power_dbm: np.ndarray) -> np.ndarray:
    return (np.asarray(power_dbm, dtype=np.float64) - NOISE_FLOOR_DBM) / DYNAMIC_RANGE_DB


def denormalize_power(g: np.ndarray) -> np.ndarray:
    return NOISE_FLOOR_DBM + np.asarray(g, dtype=np.float64) * DYNAMIC_RANGE_DB


def sample_beam_map(power_dbm: np.ndarray, grid: Grid, positions_xy: np.ndarray) -> np.ndarray:
    """E|h(p) w_j|^2 in dBm at each position (nearest cell): power_dbm (N_b, |W|, ny, nx) -> (T, N_b, |W|)."""
    iy, ix = grid.cell_index(positions_xy)
    return np.moveaxis(power_dbm[:, :, iy, ix], -1, 0)


def synthesize_measurements(expected_power_dbm: np.ndarray, observed_beams_per_bs: int, noise_std_db: float,
                            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """eq. (2) with sparse observation: (T, N_b, |W|) expectation -> (noisy power (T, N_b, |W|), mask bool).

    M = ``observed_beams_per_bs`` beams per base station and sample, uniformly without replacement.
    """
    t, n_b, n_w = expected_power_dbm.shape
    if not 1 <= observed_beams_per_bs <= n_w:
        raise ValueError(f"observed_beams_per_bs must lie in [1, {n_w}], got {observed_beams_per_bs}")
    ranks = rng.random((t, n_b, n_w)).argsort(axis=2).argsort(axis=2)
    mask = ranks < observed_beams_per_bs
    noisy = expected_power_dbm + rng.normal(0.0, noise_std_db, size=expected_power_dbm.shape)
    return np.maximum(noisy, NOISE_FLOOR_DBM), mask


def measurements_long_format(trajectory_id: str, t_s: np.ndarray, power_dbm: np.ndarray, mask: np.ndarray,
                             bs_ids: list[int]) -> pd.DataFrame:
    """The landing-zone rows (design 3.1): one per observed (time, base station, beam)."""
    ti, bi, ji = np.nonzero(mask)
    return pd.DataFrame({
        "trajectory_id": pd.Series(np.full(len(ti), trajectory_id), dtype="string"),
        "t_s": np.asarray(t_s, dtype=np.float64)[ti],
        "bs_id": np.asarray(bs_ids, dtype=np.int64)[bi],
        "beam_id": ji.astype(np.int64),
        "power_dbm": power_dbm[ti, bi, ji].astype(np.float32),
    })


def observed_power_dbm(g: np.ndarray, m: np.ndarray, layout: BeamLayout) -> np.ndarray:
    """g (L, N_b * |W|) normalized, m the mask -> (L, N_b, |W|) observed power in dBm, NaN where unobserved."""
    return np.where(layout.per_bs(m), layout.per_bs(denormalize_power(g)), np.nan)


def model_input_frame(trajectory_id, g: np.ndarray, m: np.ndarray) -> pd.DataFrame:
    """The registered model's (MLflow pyfunc) input: one row per sample, columns trajectory_id, g (list of N_b·|W|
    floats, normalized, 0 where unobserved) and m (list of bools), rows of a trajectory in time order."""
    return pd.DataFrame({"trajectory_id": np.broadcast_to(np.asarray(trajectory_id, dtype=object), (len(g),)),
                         "g": [row.astype(float).tolist() for row in g],
                         "m": [row.astype(bool).tolist() for row in m]})


@dataclass
class MaskedSparseCSI:
    """Per sample l of every trajectory: g̊_l = g_l ⊙ m_l and m_l over N_b * |W| entries (eq. (2))."""

    trajectory_id: np.ndarray  # (L,) str
    t_s: np.ndarray  # (L,) float64, increasing within a trajectory
    g: np.ndarray  # (L, N_b * |W|) float32, normalized, 0 where unobserved
    m: np.ndarray  # (L, N_b * |W|) bool
    bs_ids: list[int]
    num_beams: int

    @property
    def num_samples(self) -> int:
        return len(self.t_s)

    @property
    def layout(self) -> BeamLayout:
        return BeamLayout(len(self.bs_ids), self.num_beams)

    @property
    def mask_density(self) -> float:
        return float(self.m.mean()) if self.m.size else 0.0

    def power_dbm(self) -> np.ndarray:
        """(L, N_b, |W|) observed power in dBm, NaN where unobserved."""
        return observed_power_dbm(self.g, self.m, self.layout)

    def trajectories(self) -> list[str]:
        return list(dict.fromkeys(self.trajectory_id.tolist()))


def masked_sparse_csi(measurements: pd.DataFrame, bs_ids: list[int], num_beams: int) -> MaskedSparseCSI:
    """Long-format measurements -> one (g̊, m) row per (trajectory_id, t_s). Repeated rows are averaged in dB."""
    bs_pos = {b: i for i, b in enumerate(bs_ids)}
    layout = BeamLayout(len(bs_ids), num_beams)
    df = measurements.assign(entry=layout.entry(measurements["bs_id"].map(bs_pos).to_numpy(np.int64),
                                                measurements["beam_id"].to_numpy(np.int64)))
    samples = df[["trajectory_id", "t_s"]].drop_duplicates().sort_values(["trajectory_id", "t_s"], kind="stable")
    order = {tid: k for k, tid in enumerate(dict.fromkeys(measurements["trajectory_id"].tolist()))}
    samples = samples.assign(_o=samples["trajectory_id"].map(order)).sort_values(["_o", "t_s"], kind="stable")
    samples = samples.drop(columns="_o").reset_index(drop=True)
    samples["row"] = np.arange(len(samples))
    df = df.merge(samples, on=["trajectory_id", "t_s"], how="left")
    agg = df.groupby(["row", "entry"], sort=False)["power_dbm"].mean().reset_index()
    g = np.zeros((len(samples), layout.num_entries), dtype=np.float32)
    m = np.zeros((len(samples), layout.num_entries), dtype=bool)
    g[agg["row"].to_numpy(), agg["entry"].to_numpy()] = normalize_power(agg["power_dbm"].to_numpy())
    m[agg["row"].to_numpy(), agg["entry"].to_numpy()] = True
    return MaskedSparseCSI(samples["trajectory_id"].astype(str).to_numpy(), samples["t_s"].to_numpy(np.float64),
                           g, m, list(bs_ids), num_beams)


def radio_map_from_positions(cells: list[np.ndarray], g: list[np.ndarray], m: list[np.ndarray],
                             num_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The empirical radio map: mean of observed g per (cell, entry) and counts (K,N), samples placed at ``cells``
    (the SKF baseline, the CAM angle map and the decoder refinement all build theirs here).
    cells[i] (L_i,) int, g[i] and m[i] (L_i, N).
    The mean is NaN where an entry was never observed."""
    if not (len(cells) == len(g) == len(m)) or len(cells) == 0:
        raise ValueError(f"cells, g and m must be non-empty lists of equal length, "
                         f"got {len(cells)}, {len(g)}, {len(m)}")
    if num_cells < 1:
        raise ValueError(f"num_cells must be >= 1, got {num_cells}")
    n_entries = np.shape(g[0])[1] if np.ndim(g[0]) == 2 else -1
    total = np.zeros(num_cells * max(n_entries, 0))
    count = np.zeros(num_cells * max(n_entries, 0), dtype=np.int64)
    for i, (c, gi, mi) in enumerate(zip(cells, g, m)):
        c, gi, mi = np.asarray(c), np.asarray(gi, dtype=np.float64), np.asarray(mi, dtype=bool)
        if gi.ndim != 2 or gi.shape[1] != n_entries or mi.shape != gi.shape or c.shape != (gi.shape[0],):
            raise ValueError(f"trajectory {i}: need cells (L,), g and m (L, {n_entries}); "
                             f"got {c.shape}, {gi.shape}, {mi.shape}")
        if c.size and (c.min() < 0 or c.max() >= num_cells):
            raise ValueError(f"trajectory {i}: cell index outside [0, {num_cells})")
        flat = (c.astype(np.int64)[:, None] * n_entries + np.arange(n_entries))[mi]  # observed (cell, entry)
        total += np.bincount(flat, weights=gi[mi], minlength=total.size)
        count += np.bincount(flat, minlength=count.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.reshape(num_cells, n_entries), count.reshape(num_cells, n_entries)
