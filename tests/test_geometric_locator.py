"""The geometric coarse locator (radiomap_assets.domain.geometric_locator) on hand-made sites: the array gain points
where the codebook says, the likelihood's matrix form equals the plain sum, and a walk measured by line-of-sight base
stations is located far better than by the weighted centroid."""

import numpy as np
from scipy.special import log_ndtr

from radiomap_assets.domain import geometric_locator as gl
from radiomap_assets.domain.codebook import dft_codebook
from radiomap_assets.domain.grid import Grid, SiteGrid
from radiomap_assets.domain.localization import weighted_centroid

BASE_STATIONS = [{"x_m": -60.0, "y_m": -60.0, "z_m": 20.0, "yaw_deg": 45.0},
                 {"x_m": 160.0, "y_m": -60.0, "z_m": 20.0, "yaw_deg": 135.0},
                 {"x_m": 50.0, "y_m": 160.0, "z_m": 20.0, "yaw_deg": -90.0}]
N_ANT, CARRIER, TX_DBM = 16, 2.8e9, 40.0


def _site() -> SiteGrid:
    grid = Grid(x0=0.0, y0=0.0, resolution_m=5.0, nx=20, ny=20)
    walkable = np.zeros(grid.shape, bool)
    walkable[8:12, :] = True  # an east-west street
    walkable[:, 8:12] = True  # a north-south street
    return SiteGrid.from_walkable(grid, walkable, "hand_made")


def _predicted(site: SiteGrid) -> np.ndarray:
    xyz = np.concatenate([site.cell_centres_m, np.full((site.num_cells, 1), 1.5)], axis=1)
    return gl.line_of_sight_power_dbm(xyz, BASE_STATIONS, dft_codebook(N_ANT), 1, N_ANT, CARRIER, TX_DBM)


def test_the_strongest_beam_toward_a_cell_is_the_one_that_points_at_it():
    cells = np.array([[-60.0 + 100 * np.cos(a), -60.0 + 100 * np.sin(a), 20.0] for a in np.radians([20, 45, 70])])
    power = gl.line_of_sight_power_dbm(cells, BASE_STATIONS[:1], dft_codebook(N_ANT), 1, N_ANT, CARRIER, TX_DBM)[0]
    strongest = power.argmax(axis=0)  # per cell
    u = np.sin(np.radians([20, 45, 70]) - np.radians(45.0))  # direction cosines off the boresight
    beams = -1.0 + (2.0 * np.arange(N_ANT) + 1.0) / N_ANT
    assert (strongest == np.abs(beams[None, :] - u[:, None]).argmin(axis=1)).all()
    free_space = TX_DBM - 20 * np.log10(4 * np.pi * 100.0 / (299_792_458.0 / CARRIER))
    # on the boresight (u = 0) the two beams nearest to it (u = +-1/16) give the array factor there
    array_factor = np.abs(np.exp(1j * np.pi * np.arange(N_ANT) * (0.0 - 1.0 / N_ANT)).sum()) ** 2 / N_ANT
    assert abs(power.max(axis=0)[1] - (free_space + 10 * np.log10(array_factor))) < 0.01


def test_the_likelihood_in_matrix_form_is_the_sum_over_observed_entries():
    rng = np.random.default_rng(0)
    prior = gl.PropagationPrior()
    predicted = rng.uniform(-110, -40, (6, 4))  # (E, C)
    los = rng.random((6, 4)) < 0.5
    power = np.where(rng.random((3, 6)) < 0.6, rng.uniform(-125, -40, (3, 6)), np.nan)
    power[0, 0] = -125.0  # below the floor: censored
    got = gl.sample_log_likelihood(power, predicted, los, prior)
    mean = np.where(los, predicted + prior.los_mean_db, predicted + prior.nlos_mean_db)
    std = np.where(los, prior.los_std_db, prior.nlos_std_db)
    want = np.zeros((3, 4))
    for l in range(3):
        for e in range(6):
            v = power[l, e]
            if np.isnan(v):
                continue
            z = (v - mean[e]) / std[e]
            censored = log_ndtr((prior.noise_floor_dbm - mean[e]) / std[e])  # P(power <= the floor)
            want[l] += censored if v <= prior.noise_floor_dbm else -0.5 * z * z - np.log(std[e])
    assert np.allclose(got, want)


def test_a_line_of_sight_walk_is_located_far_better_than_by_the_centroid():
    site = _site()
    predicted = _predicted(site)  # (B, W, C)
    rng = np.random.default_rng(1)
    cells = site.cell_centres_m
    # a walk along the east-west street at 1.4 m/s, 10 samples/s, 3 beams per base station observed per sample
    t = np.arange(0, 60, 0.1)
    truth = np.stack([5.0 + 1.4 * t, np.full_like(t, 50.0)], axis=1)
    nearest = np.argmin(((cells[None] - truth[:, None]) ** 2).sum(-1), axis=1)
    power = predicted[:, :, nearest].transpose(2, 0, 1) + 5.0 + rng.normal(0, 3, (len(t), 3, N_ANT))
    observed = np.zeros_like(power, bool)
    for b in range(3):
        observed[np.arange(len(t))[:, None], b, rng.random((len(t), N_ANT)).argsort(axis=1)[:, :3]] = True
    power = np.where(observed, power, np.nan)
    centroid = weighted_centroid(power, np.array([[b["x_m"], b["y_m"]] for b in BASE_STATIONS]))
    located = gl.geometric_coarse_locations(power, np.zeros(len(t), int), t, predicted,
                                            np.ones((3, site.num_cells), bool), site, coarse_xy=centroid)
    error = np.linalg.norm(located - truth, axis=1).mean()
    centroid_error = np.linalg.norm(centroid - truth, axis=1).mean()
    assert error < 5.0 and error < 0.25 * centroid_error, (error, centroid_error)


def test_a_step_pools_its_samples_exactly():
    """The step log-likelihood (computed from statistics summed over a step) is the sum of its samples'."""
    rng = np.random.default_rng(2)
    prior = gl.PropagationPrior()
    predicted = rng.uniform(-110, -40, (6, 5))
    los = rng.random((6, 5)) < 0.5
    power = np.where(rng.random((10, 6)) < 0.6, rng.uniform(-125, -40, (10, 6)), np.nan)
    starts = np.array([0, 3, 4, 9])
    per_sample = gl.sample_log_likelihood(power, predicted, los, prior)
    assert np.allclose(gl.pooled_log_likelihood(power, starts, predicted, los, prior),
                       np.add.reduceat(per_sample, starts, axis=0))


def test_a_long_trajectory_is_located_in_segments_of_bounded_memory(monkeypatch):
    """Past MAX_HMM_ELEMENTS steps x cells a trajectory is split into consecutive HMMs, each still locating."""
    site = _site()
    predicted = _predicted(site)
    t = np.arange(0, 60, 0.5)
    truth = np.stack([5.0 + 1.4 * t, np.full_like(t, 50.0)], axis=1)
    nearest = np.argmin(((site.cell_centres_m[None] - truth[:, None]) ** 2).sum(-1), axis=1)
    power = predicted[:, :, nearest].transpose(2, 0, 1) + 5.0
    los = np.ones((3, site.num_cells), bool)
    whole = gl.geometric_coarse_locations(power, np.zeros(len(t), int), t, predicted, los, site)
    monkeypatch.setattr(gl, "MAX_HMM_ELEMENTS", 10 * site.num_cells)  # 10 steps of 2 s per HMM: 3 segments
    sizes, hmm = [], gl.hmm_posterior_mean

    def recorded(step_log_likelihood, *args, **kwargs):
        sizes.append(step_log_likelihood.size)
        return hmm(step_log_likelihood, *args, **kwargs)

    monkeypatch.setattr(gl, "hmm_posterior_mean", recorded)
    split = gl.geometric_coarse_locations(power, np.zeros(len(t), int), t, predicted, los, site)
    assert len(sizes) == 3 and max(sizes) <= gl.MAX_HMM_ELEMENTS  # each HMM within the bound
    assert np.isfinite(split).all()
    assert np.linalg.norm(split - truth, axis=1).mean() < 10.0
    assert np.linalg.norm(whole - truth, axis=1).mean() < 10.0


def test_the_free_space_distance_bound_holds_in_line_of_sight_and_is_tight_on_the_best_beam():
    """Real-world CC's distance model: from the total power of a base station's observed beams, the largest distance
    free space allows. Line-of-sight power from the array's own physics must never give a bound below the true
    distance, with any subset of beams observed; with every beam observed it is within the margin of the truth."""
    site = _site()
    xyz = np.concatenate([site.cell_centres_m, np.full((site.num_cells, 1), 1.5)], axis=1)
    power = np.moveaxis(_predicted(site), -1, 0)  # (cells, N_b, |W|) dBm
    true_d = np.linalg.norm(xyz[:, None, :] - np.array([[b["x_m"], b["y_m"], b["z_m"]] for b in BASE_STATIONS]),
                            axis=2)
    manifest = {"carrier_frequency_hz": CARRIER, "base_stations": [{"num_antennas": N_ANT}] * 3}
    full = gl.free_space_distance_bound_m(power, manifest, TX_DBM, margin_db=0.0)
    assert (full >= true_d * 0.999).all()
    assert np.median(full / true_d) < 1.3  # an orthonormal DFT codebook keeps nearly all the power
    rng = np.random.default_rng(0)
    sparse = np.where(rng.random(power.shape) < 3 / N_ANT, power, np.nan)  # about M = 3 beams per base station
    bound = gl.free_space_distance_bound_m(sparse, manifest, TX_DBM)
    seen = np.isfinite(sparse).any(axis=2)
    assert (bound[seen] >= true_d[seen]).all() and np.isinf(bound[~seen]).all()
