"""A label-free coarse locator from the site's map and the arrays' physics (issue 10, the production input).

The weighted centroid of the base-station positions (section II-B, ref. [27]) pulls every estimate towards the base
stations' centre: on San Francisco's Table I walk its error is a location-dependent bias of about 144 m that no
smoother and no model trained on it removes. What the CSI carries beyond power rankings is geometry: a base station a
user sees answers in the beam that points at the user, at a power the free-space loss predicts. This locator uses
what a deployer knows (the base stations' positions and yaw, their codebooks, the carrier, the scene's buildings
for the line of sight, the walkable cells) and nothing learned or measured with labels:

1. ``line_of_sight_power_dbm``: per (base station, beam, cell) the power a line-of-sight user would measure:
   transmit power + the beam's array gain toward the cell + free-space loss (Friis).
2. ``sample_log_likelihood``: per sample and walkable cell, the observed beams' residuals against that prediction
   as Gaussians, ``PropagationPrior`` (line of sight: a few dB above free space, ground reflection; no line of
   sight: tens of dB below, widely spread), censored at the noise floor. The sum over observed entries is computed
   as matrix products over the (sample x entry) observations, so a campaign of 225,000 samples on 12,000 cells takes
   seconds, not minutes.
3. ``hmm_posterior_mean``: per trajectory a hidden Markov model over the walkable cells at ``step_s`` steps, the
   motion a Gaussian blur of ``speed_m_s`` (forward-backward), the posterior mean per sample. A step's evidence and
   its coarse prior are the mean over its samples, not the sum: the samples of two seconds share their place's
   propagation residual and their coarse error, so they are one piece of evidence (summed, the HMM trusted ten
   correlated samples as ten independent ones, locked onto far streets, and lost to the centroid on random walks).

This is the production coarse input (``coarse_locations``, method ``geometric``, the default). Measured 2026-11-28
on the default demo's simulated campaigns (session 10; ground truth for scoring only), mean error against the
weighted centroid's: San Francisco's uniform walk 46.0 m (centroid 144.3 m), its 60 random walks 31.6 m (71.5 m; 26 s
for 357,359 samples on 2 cores), its complex trajectory 108.6 m (145.2 m: the 10 m/s stretch outruns the walking motion
model), the indoor hall 3.55 m (4.11 m). Choices where nothing is given: LOS/NLOS means are round values from the
physics (a two-ray gain of a few dB in line of sight, urban NLOS losses of 20-30 dB); the NLOS spread (40 dB), the mean
over a step and the prior's 50 m were chosen on the uniform walk and 12 of the 60 random walks of that demo (the other
48, the complex trajectory and the hall were checked after choosing, not tuned on; sessions 9-10,
scripts/study_geometric_locator.py).
The uniform walk is sensitive to the prior's width: 40 m gives 125 m, 70 m
gives 72 m, where the centroid's 144 m bias starts to win or the HMM strays. Tried and not kept (session 11,
scripts/study_geometric_locator.py and study_map_refined_locator.py): a fast motion mixed into the walking blur
(``fast_share`` 0.02-0.1 at 6-12 m/s, for the complex trajectory's ride) made every campaign worse (uniform 70-80 m,
random 34-36 m, complex 104-107 m: the heavy tail lets the HMM jump to a far street); a radio map learned from the
site's other campaigns in place of the physics made the uniform walk 59-99 m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import correlate1d
from scipy.special import log_ndtr

from radiomap_assets.domain.codebook import array_shape, codebook_beam_directions, planar_steering_vector
from radiomap_assets.domain.grid import SiteGrid

SPEED_OF_LIGHT_M_S = 299_792_458.0
# steps x cells of one HMM (its step log-likelihoods, evidence and messages: four float64 arrays of 200 MB): a longer
# trajectory is located in consecutive segments of this many steps, each its own HMM
MAX_HMM_ELEMENTS = 25_000_000


@dataclass(frozen=True)
class PropagationPrior:
    """Measured power minus the line-of-sight free-space prediction, in dB, and the motion of the HMM."""

    los_mean_db: float = 5.0  # line of sight: free space plus a ground reflection
    los_std_db: float = 6.0
    nlos_mean_db: float = -25.0  # behind buildings: diffraction and reflections, tens of dB below free space
    nlos_std_db: float = 40.0  # the residual's spread behind buildings plus how its mean varies by base station
    noise_floor_dbm: float = -119.0  # at or below: censored (the receiver's floor, domain.raytrace NOISE_FLOOR_DBM)
    speed_m_s: float = 2.0  # the HMM's motion blur per second (a walk, with margin)
    # a second, fast motion mixed into every step with weight ``fast_share`` (0: none): a heavy-tailed motion model
    # for users who sometimes ride (the complex trajectory's 10 m/s stretch outruns a walking blur)
    fast_speed_m_s: float = 12.0
    fast_share: float = 0.0
    step_s: float = 2.0  # samples pooled into one HMM step (a walk moves 2-3 m, under a 5 m cell)
    coarse_std_m: float = 50.0  # the weighted centroid as a weak prior per step (0: none): keeps the HMM from
    # locking onto a far street that happens to explain a few beams (random walks: 57 m without it, 31 m with it)


def codebook_weights(codebook: dict, rows: int, cols: int) -> np.ndarray:
    """The beamforming weights w_j (|W|, rows * cols) of a manifest codebook: the explicit matrix of a ``weights``
    codebook, else conj(a(u_j, v_j)) / sqrt(N) toward each beam's direction (domain.codebook conventions)."""
    n = rows * cols
    if codebook["type"] == "weights":
        return np.asarray(codebook["real"], dtype=np.float64) + 1j * np.asarray(codebook["imag"], dtype=np.float64)
    uv = codebook_beam_directions(codebook, n)
    return np.conj(planar_steering_vector(uv[:, 0], uv[:, 1], rows, cols)) / np.sqrt(n)


def campaign_line_of_sight_power_dbm(manifest: dict, cells_xyz: np.ndarray, tx_power_dbm: float) -> np.ndarray:
    """``line_of_sight_power_dbm`` for a campaign's base stations (positions and yaw from its manifest: yaw_deg or
    orientation_yaw_deg) and codebook, (N_b, |W|, C)."""
    n_ant = int(manifest["base_stations"][0]["num_antennas"])
    rows, cols = array_shape(manifest["codebook"], n_ant)
    bss = [{"x_m": b["x_m"], "y_m": b["y_m"], "z_m": b["z_m"],
            "yaw_deg": b.get("yaw_deg", b.get("orientation_yaw_deg", 0.0))} for b in manifest["base_stations"]]
    return line_of_sight_power_dbm(cells_xyz, bss, codebook_weights(manifest["codebook"], rows, cols), rows, cols,
                                   float(manifest["carrier_frequency_hz"]), tx_power_dbm)


def free_space_distance_bound_m(power_dbm: np.ndarray, manifest: dict, tx_power_dbm: float,
                                margin_db: float = 6.0) -> np.ndarray:
    """The distance model of Real-world CC (ref. [25], ours where the paper is silent): an upper bound on each
    sample's distance to each base station from the total power it received from that base station.

    With unit-norm beams, the power summed over the observed beams j of a base station is at most the power over
    the whole codebook, Σ_j |a^T w_j|^2 <= ||a||^2 = N (an orthonormal DFT codebook meets it), so in free space
    P_rx <= P_tx + 10 log10 N - 20 log10(4π d / λ); blockage and every NLOS loss only lower P_rx, so d is at most
    (λ / 4π) 10^((P_tx + 10 log10 N + margin - P_rx) / 20). ``margin_db`` allows paths that add up above the line of
    sight (a ground reflection in phase: +6 dB). power_dbm (L, N_b, |W|) NaN where unobserved -> (L, N_b) metres,
    inf where a base station has no observed beam."""
    n_ant = int(manifest["base_stations"][0]["num_antennas"])
    lam = SPEED_OF_LIGHT_M_S / float(manifest["carrier_frequency_hz"])
    power = np.asarray(power_dbm, dtype=np.float64)
    seen = np.isfinite(power).any(axis=2)  # (L, N_b)
    total_mw = np.nansum(10.0 ** (power / 10.0), axis=2)  # unobserved beams (NaN) add nothing
    total_dbm = 10.0 * np.log10(np.maximum(total_mw, 1e-30))
    bound = lam / (4.0 * np.pi) * 10.0 ** ((tx_power_dbm + 10.0 * np.log10(n_ant) + margin_db - total_dbm) / 20.0)
    return np.where(seen, bound, np.inf)


def positioned_base_stations(bs_xyz: np.ndarray) -> np.ndarray:
    """Indices of the base stations whose position is known (bs_xyz (N_b, 3), NaN rows where unknown)."""
    return np.nonzero(np.isfinite(np.asarray(bs_xyz, dtype=np.float64)).all(axis=1))[0]


def campaign_geometric_locations(power_dbm: np.ndarray, trajectory_id: np.ndarray, t_s: np.ndarray, manifest: dict,
                                 bs_xyz: np.ndarray, cells_xyz: np.ndarray, line_of_sight: np.ndarray,
                                 site_grid: SiteGrid, tx_power_dbm: float, prior: PropagationPrior = PropagationPrior(),
                                 coarse_xy: np.ndarray | None = None) -> np.ndarray:
    """A campaign's samples (L, 2) located from its positioned base stations only: power_dbm (L, N_b, |W|) NaN where
    unobserved, bs_xyz (N_b, 3) NaN rows where unknown (``Campaign.bs_positions``), cells_xyz (C, 3) the walkable
    cells of ``site_grid`` with the user height, line_of_sight (N_p, C) from the positioned base stations
    (``positioned_base_stations`` order), coarse_xy the weak prior."""
    bss = manifest["base_stations"]
    positioned = positioned_base_stations(bs_xyz)
    predicted = campaign_line_of_sight_power_dbm({**manifest, "base_stations": [bss[i] for i in positioned]},
                                                 cells_xyz, tx_power_dbm)
    return geometric_coarse_locations(power_dbm[:, positioned], trajectory_id, t_s, predicted, line_of_sight,
                                      site_grid, prior, coarse_xy)


def line_of_sight_power_dbm(cells_xyz: np.ndarray, base_stations: list[dict], weights: np.ndarray, rows: int,
                            cols: int, carrier_frequency_hz: float, tx_power_dbm: float) -> np.ndarray:
    """(N_b, |W|, C) dBm: transmit power + 10 log10 |a(u, v)^T w_j|^2 toward each cell + free-space loss.
    ``cells_xyz`` (C, 3) metres; a base station is a dict with x_m, y_m, z_m and yaw_deg (its array's boresight,
    counterclockwise from x); u = sin(azimuth from boresight) cos(elevation), v = sin(elevation)."""
    lam = SPEED_OF_LIGHT_M_S / float(carrier_frequency_hz)
    out = np.zeros((len(base_stations), len(weights), len(cells_xyz)))
    for b, bs in enumerate(base_stations):
        d = cells_xyz - np.array([bs["x_m"], bs["y_m"], bs["z_m"]], dtype=np.float64)  # (C, 3)
        horizontal = np.hypot(d[:, 0], d[:, 1])
        dist = np.maximum(np.linalg.norm(d, axis=1), 1.0)
        elevation = np.arctan2(d[:, 2], horizontal)
        azimuth = np.arctan2(d[:, 1], d[:, 0]) - np.radians(float(bs.get("yaw_deg", 0.0)))
        a = planar_steering_vector(np.sin(azimuth) * np.cos(elevation), np.sin(elevation), rows, cols)  # (C, N)
        gain = np.abs(a @ weights.T) ** 2  # (C, |W|)
        out[b] = (tx_power_dbm + 10.0 * np.log10(gain + 1e-9)
                  - 20.0 * np.log10(4.0 * np.pi * dist / lam)[:, None]).T
    return out


def sample_log_likelihood(power_dbm: np.ndarray, predicted_dbm: np.ndarray, line_of_sight: np.ndarray,
                          prior: PropagationPrior) -> np.ndarray:
    """power_dbm (L, E) observed, NaN where unobserved; predicted_dbm (E, C) and line_of_sight (E, C) per entry and
    cell -> log-likelihood (L, C) of each sample at each cell, up to a constant per sample."""
    return pooled_log_likelihood(power_dbm, np.arange(len(power_dbm)), predicted_dbm, line_of_sight, prior)


def pooled_log_likelihood(power_dbm: np.ndarray, starts: np.ndarray, predicted_dbm: np.ndarray,
                          line_of_sight: np.ndarray, prior: PropagationPrior) -> np.ndarray:
    """The summed log-likelihood (T, C) of the groups of consecutive samples that begin at ``starts`` (T,): the
    samples of one HMM step multiply. The log-likelihood is linear in four per-sample statistics of the observed
    entries (v^2, v, measured, censored), so they are summed over a step first and the products over the entries
    (E, C) run once per step, not once per sample (a 5 Hz campaign at 1 s steps: 5x fewer FLOPs)."""
    mean, std = line_of_sight_model(predicted_dbm, line_of_sight, prior)
    return gaussian_pooled_log_likelihood(power_dbm, starts, mean, std, prior.noise_floor_dbm)


def line_of_sight_model(predicted_dbm: np.ndarray, line_of_sight: np.ndarray, prior: PropagationPrior
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian model of the observed power per entry and cell (E, C): mean and spread in dB, from the
    line-of-sight prediction (E, C) and the line-of-sight flags (E, C) with the prior's residuals."""
    mean = np.where(line_of_sight, predicted_dbm + prior.los_mean_db, predicted_dbm + prior.nlos_mean_db)
    std = np.where(line_of_sight, prior.los_std_db, prior.nlos_std_db).astype(np.float64)
    return mean, std


def gaussian_pooled_log_likelihood(power_dbm: np.ndarray, starts: np.ndarray, mean_dbm: np.ndarray,
                                   std_db: np.ndarray, noise_floor_dbm: float) -> np.ndarray:
    """``pooled_log_likelihood`` for any Gaussian model of the observed power per entry and cell, mean_dbm and
    std_db (E, C) (the line-of-sight physics, or a radio map), censored at ``noise_floor_dbm``."""
    mean, std = mean_dbm, std_db
    observed = ~np.isnan(power_dbm)
    censored = observed & (power_dbm <= noise_floor_dbm)
    measured = observed & ~censored
    v = np.where(measured, power_dbm, 0.0)

    stats = np.concatenate([v ** 2, v, measured, censored], axis=1).astype(np.float64)  # (L, 4E)
    if len(starts) < len(stats):
        stats = np.add.reduceat(stats, starts, axis=0)  # (T, 4E)
    inv_var = 1.0 / std ** 2
    # sum over measured entries of -(v - mean)^2 / (2 std^2) - log std, and over censored ones of log P(power <= the
    # floor), as one product over the entries: (T, 4E) @ (4E, C)
    weights = np.concatenate([-0.5 * inv_var, mean * inv_var, -(0.5 * mean ** 2 * inv_var + np.log(std)),
                              log_ndtr((noise_floor_dbm - mean) / std)], axis=0)  # (4E, C)
    return stats @ weights


def hmm_steps(t_s: np.ndarray, prior: PropagationPrior) -> tuple[np.ndarray, int, float]:
    """The first sample of each HMM step (T,), the samples per step and the sample period [s] of one trajectory."""
    dt = float(np.median(np.diff(t_s))) if len(t_s) > 1 else prior.step_s
    pool = max(1, int(round(prior.step_s / max(dt, 1e-6))))
    return np.arange(0, len(t_s), pool), pool, dt


def hmm_posterior_mean(step_log_likelihood: np.ndarray, t_s: np.ndarray, site_grid: SiteGrid,
                       prior: PropagationPrior, coarse_xy: np.ndarray | None = None) -> np.ndarray:
    """One trajectory: step_log_likelihood (T, C) over the walkable cells of ``site_grid`` (its cell order) of the
    steps ``hmm_steps(t_s)``, time stamps (L,) -> posterior-mean positions (L, 2) of a forward-backward HMM.
    ``coarse_xy`` (L, 2): a Gaussian prior of ``prior.coarse_std_m`` around each sample's coarse location (NaN:
    none)."""
    grid = site_grid.grid
    iy, ix = np.nonzero(site_grid.walkable)
    centres = site_grid.cell_centres_m
    starts, pool, dt = hmm_steps(t_s, prior)
    steps = step_log_likelihood
    if coarse_xy is not None and prior.coarse_std_m > 0:
        # mean over a step's samples s of -|c - p_s|^2 / (2 sigma^2) = -(|c|^2 - 2 c . mean p_s) / (2 sigma^2) + const
        # (the mean, as for the evidence: the coarse errors of one second are one error, not independent ones)
        known = np.isfinite(coarse_xy).all(axis=1)
        count = np.add.reduceat(known.astype(np.float64), starts)  # (T,)
        total = np.add.reduceat(np.where(known[:, None], coarse_xy, 0.0), starts, axis=0)  # (T, 2)
        mean_xy = total / np.maximum(count, 1)[:, None]
        steps = steps - (np.minimum(count, 1)[:, None] * (centres ** 2).sum(axis=1)[None, :]
                         - 2.0 * mean_xy @ centres.T) / (2.0 * prior.coarse_std_m ** 2)
    sigma = max(0.5, prior.speed_m_s * pool * dt / grid.resolution_m)
    # the motion blur on the bounding box of the walkable cells only (a site's grid is mostly buildings or empty)
    y0, y1, x0, x1 = iy.min(), iy.max() + 1, ix.min(), ix.max() + 1
    img = np.zeros((y1 - y0, x1 - x0))  # the other pixels stay 0: every move writes all walkable ones
    flat = (iy - y0) * img.shape[1] + (ix - x0)

    def gaussian_kernel(sigma: float) -> np.ndarray:  # scipy's gaussian_filter kernel (truncate 4), built once
        radius = int(4.0 * sigma + 0.5)
        kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        return kernel / kernel.sum()

    kernels = [(1.0 - prior.fast_share, gaussian_kernel(sigma))]
    if prior.fast_share > 0:
        fast_sigma = max(sigma, prior.fast_speed_m_s * pool * dt / grid.resolution_m)
        kernels.append((prior.fast_share, gaussian_kernel(fast_sigma)))

    def move(p: np.ndarray) -> np.ndarray:
        img.ravel()[flat] = p
        q = 1e-300
        for weight, kernel in kernels:  # a mixture of Gaussian motions: the weighted sum of their blurs
            q = q + weight * correlate1d(correlate1d(img, kernel, axis=0, mode="constant"), kernel, axis=1,
                                         mode="constant").ravel()[flat]
        return q / q.sum()

    evidence = np.exp(steps - steps.max(axis=1, keepdims=True))  # (T, C), each step's likelihood up to a constant
    alpha = np.empty_like(steps)
    belief = np.full(steps.shape[1], 1.0 / steps.shape[1])
    for k in range(len(steps)):  # forward
        a = belief * evidence[k]
        alpha[k] = a / a.sum()
        belief = move(alpha[k])
    beta = np.ones(steps.shape[1])
    for k in range(len(steps) - 1, -1, -1):  # backward; the Gaussian blur is its own transpose
        post = alpha[k] * beta + 1e-300
        beta = move(beta * evidence[k])
        alpha[k] = post / post.sum()  # the posterior of step k, in place
    return np.repeat(alpha @ centres, np.diff(np.append(starts, len(t_s))), axis=0)  # (L, 2): a step's samples


def geometric_coarse_locations(power_dbm: np.ndarray, trajectory_id: np.ndarray, t_s: np.ndarray,
                               predicted_dbm: np.ndarray, line_of_sight: np.ndarray, site_grid: SiteGrid,
                               prior: PropagationPrior = PropagationPrior(),
                               coarse_xy: np.ndarray | None = None) -> np.ndarray:
    """Locations (L, 2) of every sample: power_dbm (L, N_b, |W|) NaN where unobserved, predicted_dbm (N_b, |W|, C)
    from ``line_of_sight_power_dbm`` on the walkable cells of ``site_grid``, line_of_sight (N_b, C), coarse_xy (L, 2)
    the weighted centroid as a weak prior (None: none); one HMM per trajectory."""
    n_bs, n_w, n_cells = predicted_dbm.shape
    mean, std = line_of_sight_model(predicted_dbm.reshape(n_bs * n_w, n_cells),
                                    np.repeat(line_of_sight, n_w, axis=0), prior)
    return hmm_locations(power_dbm.reshape(len(power_dbm), n_bs * n_w), trajectory_id, t_s, mean, std, site_grid,
                         prior, coarse_xy)


def hmm_locations(power_dbm: np.ndarray, trajectory_id: np.ndarray, t_s: np.ndarray, mean_dbm: np.ndarray,
                  std_db: np.ndarray, site_grid: SiteGrid, prior: PropagationPrior = PropagationPrior(),
                  coarse_xy: np.ndarray | None = None) -> np.ndarray:
    """Locations (L, 2) of every sample under any Gaussian model of the power per entry and cell (mean_dbm and
    std_db (E, C), ``line_of_sight_model``'s or a radio map's): power_dbm (L, E) NaN where unobserved; one HMM per
    trajectory, long ones in segments of bounded memory."""
    n_cells = mean_dbm.shape[1]
    out = np.full((len(power_dbm), 2), np.nan)
    for tid in dict.fromkeys(trajectory_id.tolist()):
        whole = np.nonzero(trajectory_id == tid)[0]
        _, pool, _ = hmm_steps(t_s[whole], prior)
        segment = max(1, MAX_HMM_ELEMENTS // n_cells) * pool  # samples per HMM: bounded memory on long tracks
        for a in range(0, len(whole), segment):
            sel = whole[a:a + segment]
            starts, _, _ = hmm_steps(t_s[sel], prior)
            # (T, C): one trajectory at a time
            ll = gaussian_pooled_log_likelihood(power_dbm[sel], starts, mean_dbm, std_db, prior.noise_floor_dbm)
            # a step's samples share their place's propagation residual (a building's shadow does not change in a
            # second): they are one piece of evidence, not ``pool`` independent ones, so the step takes their mean
            ll /= np.diff(np.append(starts, len(sel)))[:, None]
            out[sel] = hmm_posterior_mean(ll, t_s[sel], site_grid, prior,
                                          None if coarse_xy is None else coarse_xy[sel])
    return out
