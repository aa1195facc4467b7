"""Radio-map-assisted smoothing Kalman filter (SKF), the baseline of ref. [26]: a Kalman smoother on the coarse
locations with a constant-velocity motion model, fused with a grid radio-map likelihood of the sparse CSI. The radio
map is estimated from the filter's own estimates (alternating, EM-style); no location label is used anywhere.

Inputs per trajectory (``models.beam_map.training.TrajectoryData``): g (L, N) normalized beam gains, m (L, N) observed
mask, t_s (L,) strictly increasing seconds, coarse p̄ (L, 2) metres. ``cell_centres_m`` (K, 2) are the centres of the
K walkable grid cells. Plain numpy (+ ``scipy.spatial.cKDTree`` for nearest-cell queries); no torch.

Algorithm (``radio_map_kalman_smoother``)
  iteration 0: constant-velocity Kalman filter + RTS smoother on the coarse locations alone (variance R each).
  each EM round i = 1..iterations:
    1. map      : per (cell, entry) mean of the observed g at the nearest cell of the current estimates, shared by
                  all trajectories of the call; an entry needs ``min_entry_count`` observations to be used.
    2. σ        : likelihood std = RMS residual of the observed entries against that map at the estimates' own
                  cells, the sample's own time block left out (below). It absorbs the map's blur (the map is built
                  from wrong positions), not just the 2 dB measurement noise; floored at ``min_sigma``.
    3. fix      : per sample, the ``candidate_cells`` nearest cells of the smoothed estimate are scored by
                  Σ_observed -(g - map)^2 / 2σ^2 plus a Gaussian prior N(estimate, prior_inflation · P_smoothed
                  + cell^2). The posterior mean over the candidates is the "fingerprint fix"; its variance is the
                  largest eigenvalue of the posterior covariance plus the cell quantization (cell^2 / 12), times
                  ``fix_variance_scale``.
    4. smoother : the RTS smoother again, with both the coarse location (variance R) and the fix as measurements.
  ``causal=True`` (``skf_causal``): every "smoother" above is the forward Kalman filter only (no RTS backward pass),
  so an estimate and its fix prior use only the measurements up to its own time; the radio map of step 1 is still
  built from the whole campaign's estimates. The paper's SKF is probably this causal variant.
  output: the last round's smoothed positions and their nearest cells, the map built from them and per-round
  diagnostics that need no ground truth (``history``; row i describes the estimates after round i and their map).

Choices against EM self-reinforcement (a map built from the filter's estimates tends to confirm them: a sample and
its neighbours in time share their position error and land in the same cells, so a plain fingerprint fix pulls
every sample back to where it already is and snaps it to cell centres; measured on a single pass over a 12,000-cell
site this made the error grow from 2.3 m to 3.7 m over four rounds):
  * cross-validated map: a sample is scored against the map without its own time block. Each trajectory is cut
    into ``exclusion_window_s`` blocks twice (the second cut shifted by half a block); a sample uses the cut in
    whose block it sits in the middle half, so everything within +-window/4 of it (same error) is left out. The map
    a sample sees is thus made of other passes/trajectories only;
  * a candidate cell is "known" if that map knows at least half of the sample's observed entries. Unknown
    candidates take the entries of the nearest known candidate (piecewise-constant map, as
    ``SKFResult.filled_radio_map``); an entry a known cell lacks scores the known candidates' mean residual, so
    every candidate is scored on the same entries; entries no candidate knows are left out;
  * no fix where less than ``min_known_prior_mass`` of the prior mass lies on known cells: with no other pass
    nearby the map says nothing the smoother does not, so the EM leaves such samples alone (a single trajectory
    that never revisits a place gets the iteration-0 smoother back);
  * the prior is the smoothed estimate but inflated (``prior_inflation``): the smoothed estimate already contains the
    coarse locations, which are fused again in step 4, so a tight prior would count them twice and freeze the EM;
    it still keeps fixes near the estimate, away from distant cells with look-alike fingerprints;
  * fixes of consecutive samples are not independent (they share the map's cells and blur): their variance is
    scaled up by ``fix_variance_scale`` (about the samples per smoother correlation time) before the smoother sees
    them; σ is re-estimated every round, so a blurred map yields broad, weakly weighted fixes.
Measurement variances are isotropic (one scalar per measurement), so the x and y axes decouple in the filter and
share one 2x2 (position, velocity) covariance; the position covariance returned is that scalar times I.
Cost: per round O(L · candidate_cells · observed entries) in chunks of ``chunk_size`` samples (float32), plus
cKDTree queries; 6,000 samples x 12,000 cells x 80 entries x 4 rounds take a few seconds on 2 cores.
``seed`` is unused: the algorithm is deterministic; it is kept so run configurations stay comparable.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from radiomap_assets.domain.measurement import radio_map_from_positions  # the empirical map (also in the API)

if TYPE_CHECKING:  # the filter only reads the fields; importing models.beam_map.training would pull in torch
    from models.beam_map.training import TrajectoryData

_INITIAL_POSITION_VAR_M2 = 1e6  # diffuse prior of the first state (1 km std): the first measurement sets it
_INITIAL_VELOCITY_VAR = 100.0  # (10 m/s)^2, walking to driving speeds
_TWO_PI = 2.0 * math.pi
_FALLBACK_SIGMA = 0.1  # likelihood std when no sample's cell holds other blocks' data (e.g. one pass, no revisit)


@dataclass(frozen=True)
class SKFConfig:
    coarse_variance_m2: float = 400.0  # R of the coarse-location measurement
    accel_psd: float = 0.5  # q of the constant-velocity (white-acceleration) model, m^2/s^3
    iterations: int = 4  # EM rounds: map from estimates -> fingerprint fix -> smoother
    candidate_cells: int = 96  # nearest cells around the current estimate scored by the map likelihood
    min_entry_count: int = 1  # a map entry needs this many observations to be used
    seed: int = 0  # unused (deterministic algorithm), kept for comparable run configurations
    prior_inflation: float = 4.0  # prior variance of the fix = prior_inflation * smoothed variance + cell^2
    fix_variance_scale: float = 10.0  # fix variance multiplier: consecutive fixes share map errors (see docstring)
    min_sigma: float = 0.01  # floor of the likelihood std, in g units (2 dB on a 100 dB scale = 0.02)
    exclusion_window_s: float = 40.0  # a sample is scored against the map without its own time block (>= +-10 s)
    min_known_prior_mass: float = 0.5  # no fix where less prior mass lies on cells holding other blocks' data
    chunk_size: int = 512  # samples scored at a time: memory ~ chunk * candidates * observed entries * 4 B * a few
    causal: bool = False  # True: forward Kalman filter only in every round (no RTS backward pass), see the docstring

    def validate(self) -> None:
        if not (np.isfinite(self.coarse_variance_m2) and self.coarse_variance_m2 > 0):
            raise ValueError(f"coarse_variance_m2 must be positive and finite, got {self.coarse_variance_m2}")
        if not (np.isfinite(self.accel_psd) and self.accel_psd > 0):
            raise ValueError(f"accel_psd must be positive and finite, got {self.accel_psd}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.candidate_cells < 1:
            raise ValueError(f"candidate_cells must be >= 1, got {self.candidate_cells}")
        if self.min_entry_count < 1:
            raise ValueError(f"min_entry_count must be >= 1, got {self.min_entry_count}")
        if not (self.prior_inflation > 0 and self.fix_variance_scale > 0 and self.min_sigma > 0):
            raise ValueError("prior_inflation, fix_variance_scale and min_sigma must be positive")
        if not (np.isfinite(self.exclusion_window_s) and self.exclusion_window_s > 0):
            raise ValueError(f"exclusion_window_s must be positive and finite, got {self.exclusion_window_s}")
        if not 0.0 <= self.min_known_prior_mass <= 1.0:
            raise ValueError(f"min_known_prior_mass must lie in [0, 1], got {self.min_known_prior_mass}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")


@dataclass
class SKFResult:
    xy: list[np.ndarray]  # per trajectory (L, 2) smoothed positions, metres
    cells: list[np.ndarray]  # per trajectory (L,) nearest cell index of xy
    radio_map_g: np.ndarray  # (K, N) float64 estimated normalized beam map, NaN where never observed
    radio_map_counts: np.ndarray  # (K, N) int observations per entry
    history: list[dict] = field(default_factory=list)  # per EM iteration (0 = coarse-only smoother): diagnostics
    config: dict = field(default_factory=dict)

    def filled_radio_map(self, cell_centres_m: np.ndarray) -> np.ndarray:
        """(K, N): NaN entries take the value of the nearest cell that observed that entry (all-NaN columns, entries
        no cell observed, stay NaN)."""
        centres = _check_cells(cell_centres_m)
        if centres.shape[0] != self.radio_map_g.shape[0]:
            raise ValueError(f"cell_centres_m has {centres.shape[0]} cells, the radio map {self.radio_map_g.shape[0]}")
        return _fill_nearest(self.radio_map_g, np.isfinite(self.radio_map_g), centres)


# --- constant-velocity Kalman filter + Rauch-Tung-Striebel smoother ----------------------------------------------

def rts_smoother(z_xy: np.ndarray, t_s: np.ndarray, meas_var: np.ndarray, accel_psd: float,
                 causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity Kalman filter + Rauch-Tung-Striebel smoother. z_xy (L,2) or (L,S,2) with S measurements per
    step fused sequentially, meas_var (L,) or (L,S) (np.inf = no measurement), t_s (L,). Returns smoothed positions
    (L,2) and position covariances (L,2,2); ``causal=True`` returns the forward filter's estimates instead (each step
    sees only the measurements up to its own time, no backward pass)."""
    z, var, used, t, q = _check_filter_input(z_xy, t_s, meas_var, accel_psd)
    pred_state, pred_cov, filt_state, filt_cov, _ = _forward_filter(z, var, used, t, q)
    length = len(t)
    if causal:
        out_xy = np.array([(s[0], s[2]) for s in filt_state])
        out_var = np.maximum(np.array([c[0] for c in filt_cov]), 0.0)
        return out_xy, out_var[:, None, None] * np.eye(2)[None]
    tl = t.tolist()
    out_xy = np.empty((length, 2))
    out_var = np.empty(length)
    sx, svx, sy, svy = filt_state[-1]
    s00, s01, s11 = filt_cov[-1]
    out_xy[-1] = (sx, sy)
    out_var[-1] = s00
    for k in range(length - 2, -1, -1):  # RTS: C = P_f F^T P_pred^-1, x_s = x_f + C (x_s' - x_pred')
        dt = tl[k + 1] - tl[k]
        f00, f01, f11 = filt_cov[k]
        a00, a01, a11 = pred_cov[k + 1]
        det = a00 * a11 - a01 * a01
        i00, i01, i11 = a11 / det, -a01 / det, a00 / det
        b00, b01 = f00 + dt * f01, f01  # P_f F^T
        b10, b11 = f01 + dt * f11, f11
        c00, c01 = b00 * i00 + b01 * i01, b00 * i01 + b01 * i11
        c10, c11 = b10 * i00 + b11 * i01, b10 * i01 + b11 * i11
        qx, qvx, qy, qvy = pred_state[k + 1]
        fx, fvx, fy, fvy = filt_state[k]
        dx, dvx, dy, dvy = sx - qx, svx - qvx, sy - qy, svy - qvy
        sx, svx = fx + c00 * dx + c01 * dvx, fvx + c10 * dx + c11 * dvx
        sy, svy = fy + c00 * dy + c01 * dvy, fvy + c10 * dy + c11 * dvy
        e00, e01, e11 = s00 - a00, s01 - a01, s11 - a11  # P_s' - P_pred'
        # P_s = P_f + C E C^T
        ce00, ce01 = c00 * e00 + c01 * e01, c00 * e01 + c01 * e11
        ce10, ce11 = c10 * e00 + c11 * e01, c10 * e01 + c11 * e11
        s00 = f00 + ce00 * c00 + ce01 * c01
        s01 = f01 + ce00 * c10 + ce01 * c11
        s11 = f11 + ce10 * c10 + ce11 * c11
        out_xy[k] = (sx, sy)
        out_var[k] = s00
    out_var = np.maximum(out_var, 0.0)
    return out_xy, out_var[:, None, None] * np.eye(2)[None]


def innovation_loglik(z_xy: np.ndarray, t_s: np.ndarray, meas_var: np.ndarray, accel_psd: float,
                      scored_streams: tuple[int, ...] | None = None) -> float:
    """Gaussian log-likelihood of the measurements under the constant-velocity model (the forward filter's
    prediction-error decomposition: sum over the scalar updates of log N(innovation; 0, P_pred + r)), both axes.
    The first update, made against the diffuse initial state, is left out: it does not depend on the noise levels.
    Same inputs as ``rts_smoother``; used to choose R and q without labels (``models.baselines.floors``).
    ``scored_streams``: score only these measurement streams (all are still fused): how well the track predicts
    one stream given the others (``models.beam_map.tracking``); None scores every stream."""
    z, var, used, t, q = _check_filter_input(z_xy, t_s, meas_var, accel_psd)
    return _forward_filter(z, var, used, t, q, scored_streams)[4]


def _check_filter_input(z_xy, t_s, meas_var, accel_psd):
    """-> z (L, S, 2), var (L, S), used (L, S) bool, t (L,), q, validated with clear ValueErrors."""
    z = np.asarray(z_xy, dtype=np.float64)
    var = np.asarray(meas_var, dtype=np.float64)
    t = np.asarray(t_s, dtype=np.float64)
    if z.ndim == 2:
        z = z[:, None, :]
    if z.ndim != 3 or z.shape[-1] != 2:
        raise ValueError(f"z_xy must be (L, 2) or (L, S, 2), got shape {np.shape(z_xy)}")
    if var.ndim == 1:
        var = var[:, None]
    length, per_step = z.shape[:2]
    if var.shape != (length, per_step):
        raise ValueError(f"meas_var must be ({length},) or ({length}, {per_step}) to match z_xy, "
                         f"got {np.shape(meas_var)}")
    if t.shape != (length,):
        raise ValueError(f"t_s must be ({length},) to match z_xy, got {t.shape}")
    if length == 0:
        raise ValueError("empty trajectory: z_xy has no step")
    _check_times(t)
    if np.isnan(var).any() or (var <= 0).any():
        raise ValueError("meas_var must be positive (np.inf = no measurement), found NaN or <= 0")
    used = np.isfinite(var)  # (L, S)
    if not np.isfinite(z[used]).all():
        raise ValueError("z_xy has non-finite values where meas_var is finite")
    if not used.any():
        raise ValueError("no measurement: every meas_var is np.inf")
    if not (np.isfinite(accel_psd) and accel_psd > 0):
        raise ValueError(f"accel_psd must be positive and finite, got {accel_psd}")
    return z, var, used, t, float(accel_psd)


def _forward_filter(z, var, used, t, q, scored_streams=None):
    """The forward pass shared by the smoother, the causal filter and the likelihood: per step the predicted and
    filtered (x, vx, y, vy) and covariances (p00, p01, p11) shared by both axes, and the innovation log-likelihood."""
    length, per_step = z.shape[:2]

    # Start at the first measurement (diffuse position variance, so the first update sets it), zero velocity.
    first = int(np.argmax(used.any(axis=1)))
    w = np.where(used[first], 1.0 / np.where(used[first], var[first], 1.0), 0.0)
    x0 = (w[:, None] * np.where(used[first][:, None], z[first], 0.0)).sum(0) / w.sum()

    zl, vl, ul, tl = z.tolist(), var.tolist(), used.tolist(), t.tolist()
    # state per axis (position, velocity); covariance (p00, p01, p11) shared by both axes
    px, vx, py, vy = float(x0[0]), 0.0, float(x0[1]), 0.0
    p00, p01, p11 = _INITIAL_POSITION_VAR_M2, 0.0, _INITIAL_VELOCITY_VAR
    pred_state, pred_cov, filt_state, filt_cov = [], [], [], []
    loglik, diffuse = 0.0, True  # diffuse: the first update, against the 1 km prior, is not scored
    for k in range(length):
        if k > 0:  # predict: F = [[1, dt], [0, 1]], Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]]
            dt = tl[k] - tl[k - 1]
            px += dt * vx
            py += dt * vy
            p00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + q * dt ** 3 / 3.0
            p01 = p01 + dt * p11 + q * dt * dt / 2.0
            p11 = p11 + q * dt
        pred_state.append((px, vx, py, vy))
        pred_cov.append((p00, p01, p11))
        for s in range(per_step):  # sequential scalar updates, H = [1, 0] on each axis
            if not ul[k][s]:
                continue
            r = vl[k][s]
            sv = p00 + r
            k0, k1 = p00 / sv, p01 / sv
            ix, iy = zl[k][s][0] - px, zl[k][s][1] - py
            if diffuse:
                diffuse = False
            elif scored_streams is None or s in scored_streams:  # two scalar innovations (x and y) of variance sv
                loglik -= math.log(_TWO_PI * sv) + 0.5 * (ix * ix + iy * iy) / sv
            px += k0 * ix
            vx += k1 * ix
            py += k0 * iy
            vy += k1 * iy
            p11 = p11 - k1 * p01
            p00, p01 = p00 * r / sv, p01 * r / sv  # (1 - K0) P, written without cancellation
        filt_state.append((px, vx, py, vy))
        filt_cov.append((p00, p01, p11))
    return pred_state, pred_cov, filt_state, filt_cov, loglik


# --- radio map -------------------------------------------------------------------------------------------------

def _fill_nearest(map_g: np.ndarray, usable: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """map_g (K, N) with the entries not ``usable`` replaced, per entry, by the value of the nearest usable cell
    (NaN where no cell is usable for that entry)."""
    out = np.where(usable, map_g, np.nan)
    # entries sharing the same set of usable cells share one tree (common: every beam of a base station is seen)
    keys: dict[bytes, list[int]] = {}
    for n in range(map_g.shape[1]):
        keys.setdefault(np.packbits(usable[:, n]).tobytes(), []).append(n)
    for cols in keys.values():
        src = np.nonzero(usable[:, cols[0]])[0]
        if src.size == 0:
            continue
        dst = np.nonzero(~usable[:, cols[0]])[0]
        if dst.size == 0:
            continue
        _, nearest = cKDTree(centres[src]).query(centres[dst], k=1)
        out[np.ix_(dst, cols)] = map_g[np.ix_(src[nearest], cols)]
    return out


# --- the SKF --------------------------------------------------------------------------------------------------

def radio_map_kalman_smoother(data: Sequence["TrajectoryData"], cell_centres_m: np.ndarray,
                              config: SKFConfig = SKFConfig(),
                              on_iteration: Callable[[dict, list[np.ndarray]], None] | None = None) -> SKFResult:
    """The SKF of ref. [26] on the trajectories of ``data`` (one shared radio map). ``on_iteration(row, xy)`` is called
    after iteration 0 (coarse-only smoother) and after every EM round with that round's diagnostics (the row that
    ends up in ``history``) and a copy of the per-trajectory estimates."""
    config.validate()
    centres = _check_cells(cell_centres_m)
    trajs = _check_data(data)
    num_cells = centres.shape[0]
    tree = cKDTree(centres)
    cell_size = _cell_size(tree, centres)
    n_cand = min(config.candidate_cells, num_cells)
    R = config.coarse_variance_m2

    g_all = np.concatenate([t[0] for t in trajs])  # (L_tot, N) float64, 0 where unobserved
    m_all = np.concatenate([t[1] for t in trajs])  # (L_tot, N) bool
    bounds = np.cumsum([0] + [len(t[2]) for t in trajs])
    blocks, own_block = _exclusion_blocks(trajs, config.exclusion_window_s)  # (2, L_tot), (L_tot,)
    history: list[dict] = []

    def smooth_all(fix_xy=None, fix_var=None):
        xy, var = [], []
        for i, (_, _, t, coarse) in enumerate(trajs):
            if fix_xy is None:
                sxy, cov = rts_smoother(coarse, t, np.full(len(t), R), config.accel_psd, causal=config.causal)
            else:
                sl = slice(bounds[i], bounds[i + 1])
                z = np.stack([coarse, fix_xy[sl]], axis=1)  # (L, 2 measurements, 2)
                v = np.stack([np.full(len(t), R), fix_var[sl]], axis=1)  # (L, 2)
                sxy, cov = rts_smoother(z, t, v, config.accel_psd, causal=config.causal)
            xy.append(sxy)
            var.append(cov[:, 0, 0])
        return xy, var

    def report(row, xy, counts, t_start):
        row.update(_map_diagnostics(counts, counts >= config.min_entry_count))
        row["seconds"] = time.perf_counter() - t_start
        history.append(row)
        if on_iteration is not None:
            on_iteration(dict(row), [a.copy() for a in xy])

    t_start = time.perf_counter()
    xy, var = smooth_all()
    row = {"iteration": 0, "sigma": float("nan"), "fix_share": 0.0, "fix_std_m": float("nan"),
           "mean_shift_m": float("nan"), "smoothed_std_m": float(np.sqrt(np.concatenate(var)).mean())}
    for it in range(1, config.iterations + 1):
        est = np.concatenate(xy)  # (L_tot, 2)
        est_var = np.concatenate(var)  # (L_tot,)
        cur = tree.query(est, k=1)[1]  # (L_tot,) nearest cell of the current estimates
        # 1. radio map from the current estimates (as sums and counts, so that blocks can be taken out)
        lookup = _ExcludedMap(cur, g_all, m_all, blocks, own_block, num_cells, config.min_entry_count)
        report(row, xy, lookup.counts, t_start)
        t_start = time.perf_counter()
        # 2. likelihood sigma: residuals of the observed entries against the map without their own block
        sigma = lookup.residual_sigma(cur, config.min_sigma)
        # 3. fingerprint fix per sample, over the candidate cells nearest to its estimate
        cand_d, cand = tree.query(est, k=n_cand)  # (L_tot, C) sorted by distance
        cand_d, cand = cand_d.reshape(len(est), n_cand), cand.reshape(len(est), n_cand)
        prior_var = config.prior_inflation * est_var + cell_size ** 2  # (L_tot,)
        fix_xy, fix_var = _fingerprint_fixes(est, cand, cand_d, prior_var, lookup, centres, sigma, cell_size,
                                             config.min_known_prior_mass, config.chunk_size)
        fix_var = fix_var * config.fix_variance_scale
        # 4. smoother on coarse + fix
        new_xy, var = smooth_all(fix_xy, fix_var)
        has_fix = np.isfinite(fix_var)
        row = {"iteration": it, "sigma": sigma, "fix_share": float(has_fix.mean()),
               "fix_std_m": float(np.median(np.sqrt(fix_var[has_fix]))) if has_fix.any() else float("nan"),
               "mean_shift_m": float(np.linalg.norm(np.concatenate(new_xy) - est, axis=1).mean()),
               "smoothed_std_m": float(np.sqrt(np.concatenate(var)).mean())}
        xy = new_xy

    cur = tree.query(np.concatenate(xy), k=1)[1]
    map_g, counts = radio_map_from_positions([cur], [g_all], [m_all], num_cells)
    report(row, xy, counts, t_start)
    cells = [cur[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(trajs))]
    return SKFResult(xy=xy, cells=cells, radio_map_g=map_g, radio_map_counts=counts, history=history,
                     config=asdict(config))


def _exclusion_blocks(trajs, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Two partitions of every trajectory into ``window_s`` long time blocks, the second shifted by half a block:
    block ids (2, L_tot), unique across trajectories and partitions, and per sample the id of the block in whose
    middle half it lies (L_tot,), so that its own block covers at least +-window_s/4 around it."""
    part0, part1, own = [], [], []
    offset = 0
    for _, _, t, _ in trajs:
        rel = (t - t[0]) / window_s
        b0 = np.floor(rel).astype(np.int64)
        b1 = np.floor(rel + 0.5).astype(np.int64)
        b0, b1 = b0 + offset, b1 + offset + int(b0.max()) + 1
        offset = int(b1.max()) + 1
        frac = rel - np.floor(rel)
        own.append(np.where((frac >= 0.25) & (frac < 0.75), b0, b1))
        part0.append(b0)
        part1.append(b1)
    return np.stack([np.concatenate(part0), np.concatenate(part1)]), np.concatenate(own)


class _ExcludedMap:
    """The radio map of the current estimates, queried per sample without the sample's own time block:
    map_excl[c] = (S[c] - S_blk[c]) / (n[c] - n_blk[c]), NaN where fewer than ``min_count`` observations remain.
    ``counts`` (K, N) are the observations per entry of the full map."""

    def __init__(self, cur, g_all, m_all, blocks, own_block, num_cells, min_count):
        n_samples, n_entries = g_all.shape
        self.num_cells, self.min_count = num_cells, max(int(min_count), 1)
        self.g, self.m, self.own_block = g_all, m_all, own_block
        gm = np.where(m_all, g_all, 0.0)
        flat = (cur[:, None] * n_entries + np.arange(n_entries))[m_all]
        size = num_cells * n_entries
        self.sums = np.bincount(flat, weights=gm[m_all], minlength=size).reshape(num_cells, n_entries)
        self.counts = np.bincount(flat, minlength=size).reshape(num_cells, n_entries)
        with np.errstate(invalid="ignore", divide="ignore"):  # (K, N) float32, NaN = unknown
            self.mean = np.where(self.counts >= self.min_count, self.sums / np.maximum(self.counts, 1),
                                 np.nan).astype(np.float32)
        # per (block, cell) sums of both partitions, under sorted unique keys block * K + cell
        keys = np.concatenate([blocks[0] * num_cells + cur, blocks[1] * num_cells + cur])  # (2 L,)
        order = np.argsort(keys, kind="stable")
        self.keys, first = np.unique(keys[order], return_index=True)
        rows = np.concatenate([np.arange(n_samples), np.arange(n_samples)])[order]
        self.block_sums = np.add.reduceat(gm[rows], first, axis=0)  # (U, N)
        self.block_counts = np.add.reduceat(m_all[rows].astype(np.int64), first, axis=0)  # (U, N)

    def values(self, rows: np.ndarray, cells: np.ndarray, entries: np.ndarray) -> np.ndarray:
        """rows (B,) sample indices, cells (B, C), entries (B, J) -> (B, C, J) float32 map without each row's own
        block, NaN = unknown."""
        out = self.mean[cells[:, :, None], entries[:, None, :]]  # (B, C, J)
        key = self.own_block[rows][:, None] * self.num_cells + cells  # (B, C)
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hb, hc = np.nonzero(self.keys[pos] == key)  # the few candidates the own block visited
        if hb.size:
            cell, ent, p = cells[hb, hc][:, None], entries[hb], pos[hb, hc][:, None]  # (P, 1), (P, J), (P, 1)
            n = self.counts[cell, ent] - self.block_counts[p, ent]
            s = self.sums[cell, ent] - self.block_sums[p, ent]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[hb, hc] = np.where(n >= self.min_count, s / np.maximum(n, 1), np.nan)
        return out

    def residual_sigma(self, cur, min_sigma, chunk=4096) -> float:
        """RMS of g - map_excl at the samples' own cells, over the observed entries the excluded map knows."""
        total, count = 0.0, 0
        for a in range(0, len(cur), chunk):
            rows = np.arange(a, min(a + chunk, len(cur)))
            entries, valid = _observed_entries(self.m[rows])
            mu = self.values(rows, cur[rows][:, None], entries)[:, 0]  # (B, J)
            g = np.take_along_axis(self.g[rows], entries, axis=1)
            sel = valid & np.isfinite(mu)
            total += float(((g - mu)[sel] ** 2).sum())
            count += int(sel.sum())
        if count == 0:
            return float(max(min_sigma, _FALLBACK_SIGMA))  # nothing to compare with: a broad, weak likelihood
        return float(max(min_sigma, np.sqrt(total / count)))


def _observed_entries(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """m (B, N) bool -> entry indices (B, J) of the observed entries, padded with entry 0, and valid (B, J);
    J = the most observed entries of a row (>= 1)."""
    per_row = m.sum(axis=1)
    width = max(int(per_row.max()) if m.size else 0, 1)
    order = np.argsort(~m, axis=1, kind="stable")[:, :width]  # observed entries first, in entry order
    valid = np.arange(width)[None, :] < per_row[:, None]
    return np.where(valid, order, 0), valid


def _fingerprint_fixes(est, cand, cand_d, prior_var, lookup: _ExcludedMap, centres, sigma, cell_size,
                       min_known_prior_mass, chunk):
    """Posterior mean (L, 2) and scalar variance (L,) over the candidate cells; np.inf variance (no fix) for a
    sample without observed entries or whose prior mass lies mostly on cells without other blocks' data."""
    n_samples = cand.shape[0]
    fix_xy = est.copy()
    fix_var = np.full(n_samples, np.inf)
    quant = cell_size ** 2 / 12.0  # variance of a uniform position within a cell, per axis
    for a in range(0, n_samples, chunk):
        b = min(a + chunk, n_samples)
        cand_b = cand[a:b]  # (B, C)
        entries, valid = _observed_entries(lookup.m[a:b])  # (B, J): only the observed entries are scored
        g = np.take_along_axis(lookup.g[a:b], entries, axis=1).astype(np.float32)  # (B, J)
        mu = lookup.values(np.arange(a, b), cand_b, entries)  # (B, C, J), NaN = unknown
        known = ~np.isnan(mu) & valid[:, None, :]
        # a candidate "has data" if the excluded map knows at least half of the sample's observed entries
        cell_known = known.sum(axis=2) * 2 >= np.maximum(valid.sum(axis=1), 1)[:, None]  # (B, C)
        pos = centres[cand_b]  # (B, C, 2)
        ub, uc = np.nonzero(~cell_known & cell_known.any(axis=1, keepdims=True))
        if ub.size:  # a candidate without data takes the entries of the nearest candidate with data (per sample)
            pos32 = pos.astype(np.float32)
            dx = pos32[ub, :, 0] - pos32[ub, uc, 0][:, None]  # (U, C)
            dy = pos32[ub, :, 1] - pos32[ub, uc, 1][:, None]
            nn = np.argmin(np.where(cell_known[ub], dx * dx + dy * dy, np.inf), axis=1)  # (U,)
            mu[ub, uc], known[ub, uc] = mu[ub, nn], known[ub, nn]
        r2 = (g[:, None, :] - mu) ** 2 / np.float32(sigma ** 2)  # (B, C, J), NaN = unknown
        # an entry a cell does not know is scored as the candidates that know it score on average
        n_known = known.sum(axis=1)  # (B, J)
        r2 = np.where(known, r2, 0.0)
        r2_mean = r2.sum(axis=1) / np.maximum(n_known, 1)  # (B, J)
        use = (valid & (n_known > 0)).astype(np.float32)  # entries no candidate knows shift all alike: left out
        loglik = -0.5 * (np.einsum("bcj,bj->bc", r2, use)
                         + ((~known) * (r2_mean * use)[:, None, :]).sum(axis=2))  # (B, C)
        logprior = -0.5 * cand_d[a:b] ** 2 / prior_var[a:b, None]  # (B, C)
        prior_w = np.exp(logprior - logprior.max(axis=1, keepdims=True))
        known_mass = (prior_w * cell_known).sum(axis=1) / prior_w.sum(axis=1)  # (B,)
        ok = valid.any(axis=1) & cell_known.any(axis=1) & (known_mass >= min_known_prior_mass)
        logpost = loglik + logprior
        logpost -= logpost.max(axis=1, keepdims=True)
        w = np.exp(logpost)
        w /= w.sum(axis=1, keepdims=True)
        mean = np.einsum("bc,bcd->bd", w, pos)
        dev = pos - mean[:, None, :]
        cov = np.einsum("bc,bcd,bce->bde", w, dev, dev)  # (B, 2, 2)
        tr, det = cov[:, 0, 0] + cov[:, 1, 1], cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] ** 2
        lam_max = 0.5 * tr + np.sqrt(np.maximum(0.25 * tr ** 2 - det, 0.0))  # largest eigenvalue: conservative
        fix_xy[a:b][ok] = mean[ok]
        fix_var[a:b][ok] = lam_max[ok] + quant
    return fix_xy, fix_var


def _map_diagnostics(counts, usable) -> dict:
    visited = counts.sum(axis=1) > 0
    return {"visited_cells": int(visited.sum()), "map_fill_share": float(usable.mean()),
            "map_fill_share_visited": float(usable[visited].mean()) if visited.any() else 0.0}


def _cell_size(tree: cKDTree, centres: np.ndarray) -> float:
    """Median nearest-neighbour spacing of the cell centres (the grid resolution); 1 m for a single cell."""
    if centres.shape[0] < 2:
        return 1.0
    d, _ = tree.query(centres, k=2)
    return float(np.median(d[:, 1]))


def _check_cells(cell_centres_m) -> np.ndarray:
    c = np.asarray(cell_centres_m, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] == 0:
        raise ValueError(f"cell_centres_m must be (K, 2) with K >= 1, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cell_centres_m has non-finite values")
    return c


def _check_times(t: np.ndarray, name: str = "t_s") -> None:
    if not np.isfinite(t).all():
        raise ValueError(f"{name} has non-finite values")
    if t.size > 1 and not (np.diff(t) > 0).all():
        k = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"{name} must be strictly increasing: t[{k + 1}]={t[k + 1]} <= t[{k}]={t[k]}")


def _check_data(data) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """-> per trajectory (g (L, N) float64, m (L, N) bool, t_s (L,), coarse (L, 2)), with clear ValueErrors."""
    if data is None or len(data) == 0:
        raise ValueError("empty data: no trajectory given")
    out, n_entries = [], None
    for d in data:
        tid = getattr(d, "trajectory_id", "?")
        g, m = np.asarray(d.g, dtype=np.float64), np.asarray(d.m)
        t, coarse = np.asarray(d.t_s, dtype=np.float64), np.asarray(d.coarse_xy, dtype=np.float64)
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"trajectory {tid}: t_s must be a non-empty (L,) array, got shape {t.shape}")
        length = t.size
        if g.ndim != 2 or g.shape[0] != length:
            raise ValueError(f"trajectory {tid}: g must be (L={length}, N), got shape {g.shape}")
        if m.shape != g.shape:
            raise ValueError(f"trajectory {tid}: m must have g's shape {g.shape}, got {m.shape}")
        if m.dtype != bool:
            raise ValueError(f"trajectory {tid}: m must be a boolean mask, got dtype {m.dtype}")
        if coarse.shape != (length, 2):
            raise ValueError(f"trajectory {tid}: coarse_xy must be (L={length}, 2), got shape {coarse.shape}")
        if n_entries is None:
            n_entries = g.shape[1]
        elif g.shape[1] != n_entries:
            raise ValueError(f"trajectory {tid}: N={g.shape[1]} entries, the first trajectory has {n_entries}")
        if not np.isfinite(coarse).all():
            raise ValueError(f"trajectory {tid}: coarse_xy has non-finite values")
        if not np.isfinite(g[m]).all():
            raise ValueError(f"trajectory {tid}: g has non-finite values at observed entries")
        _check_times(t, f"trajectory {tid}: t_s")
        out.append((np.where(m, g, 0.0), m, t, coarse))
    return out
