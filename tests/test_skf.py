"""Radio-map-assisted smoothing Kalman filter (SKF) baseline on a synthetic L-shaped street (no Dagster, no MLflow).

The site: 5 m cells along an L of 300 m x 15 m then 15 m x 185 m, three base stations with four beams each and a
smooth synthetic normalized beam map. Trajectories walk the L at 1 m/s (5 Hz) on lanes that do not sit on cell
centres; each sample observes 2 of the 4 beams of every base station with 0.02 noise; coarse = truth + N(0, 20^2).
The SKF sees only g, m, t_s and coarse; the ground truth only scores it.
"""

import numpy as np
import pytest

from models.baselines.kalman import (SKFConfig, SKFResult, innovation_loglik, radio_map_from_positions,
                                     radio_map_kalman_smoother, rts_smoother)
from models.beam_map.training import TrajectoryData

CELL_M = 5.0
BS_XY = np.array([[60.0, 60.0], [220.0, -50.0], [340.0, 140.0]])
BS_AIM_RAD = np.deg2rad([-70.0, 80.0, 200.0])
BEAM_BORESIGHT_RAD = np.deg2rad([-60.0, -20.0, 20.0, 60.0])
N_ENTRIES = len(BS_XY) * len(BEAM_BORESIGHT_RAD)  # k = b * |W| + j


def street_cells() -> np.ndarray:
    """(K, 2) centres of the walkable 5 m cells of the L: x 0..300, y 0..15, then x 285..300, y 15..200."""
    h = [(x, y) for x in np.arange(CELL_M / 2, 300, CELL_M) for y in np.arange(CELL_M / 2, 15, CELL_M)]
    v = [(x, y) for x in np.arange(285 + CELL_M / 2, 300, CELL_M) for y in np.arange(15 + CELL_M / 2, 200, CELL_M)]
    return np.array(h + v)


def beam_map(xy: np.ndarray) -> np.ndarray:
    """(P, 2) -> (P, N) g = clip(0.75 - distance / 400 + beam-pattern term of the angle, 0, 1)."""
    out = []
    for b, (bs, aim) in enumerate(zip(BS_XY, BS_AIM_RAD)):
        d = xy - bs
        dist, ang = np.linalg.norm(d, axis=1), np.arctan2(d[:, 1], d[:, 0]) - aim
        for bore in BEAM_BORESIGHT_RAD:
            off = np.angle(np.exp(1j * (ang - bore)))
            out.append(np.clip(0.75 - dist / 400.0 + 0.25 * np.exp(-(off / 0.35) ** 2), 0.0, 1.0))
    return np.stack(out, axis=1)


def walk(rng, tid: str, corners, hz: float = 5.0, speed: float = 1.0) -> tuple[TrajectoryData, np.ndarray]:
    """A trajectory along the polyline ``corners``: (model inputs, true positions (L, 2))."""
    corners = np.asarray(corners, dtype=np.float64)
    seg = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(corners, axis=0), axis=1))]
    s = np.arange(0.0, seg[-1], speed / hz)
    truth = np.stack([np.interp(s, seg, corners[:, 0]), np.interp(s, seg, corners[:, 1])], axis=1)
    m = np.zeros((len(s), N_ENTRIES), dtype=bool)
    for b in range(len(BS_XY)):  # M = 2 of the 4 beams of every base station
        picks = np.argsort(rng.random((len(s), 4)), axis=1)[:, :2]
        m[np.arange(len(s))[:, None], b * 4 + picks] = True
    g = np.clip(beam_map(truth) + rng.normal(0.0, 0.02, m.shape), 0.0, 1.0)
    coarse = truth + rng.normal(0.0, 20.0, truth.shape)
    return TrajectoryData(tid, np.where(m, g, 0.0).astype(np.float32), m, s / speed, coarse), truth


def mean_error(xy, truth) -> float:
    return float(np.linalg.norm(np.concatenate(xy) - np.concatenate(truth), axis=1).mean())


@pytest.fixture(scope="module")
def street_run():
    """Three walks on different lanes (two out, one back) and the SKF run on them, with the iteration-0 estimates."""
    rng = np.random.default_rng(0)
    cells = street_cells()
    lanes = [(4.1, 289.1), (9.3, 294.3), (11.7, 286.6)]
    walks = []
    for i, (y, x) in enumerate(lanes):
        corners = [(1.0, y), (x, y), (x, 199.0)]
        walks.append(walk(rng, f"walk{i}", corners if i % 2 == 0 else corners[::-1]))
    data, truth = [w[0] for w in walks], [w[1] for w in walks]
    seen = {}
    result = radio_map_kalman_smoother(data, cells, SKFConfig(),
                                       on_iteration=lambda row, xy: seen.setdefault(row["iteration"], xy))
    return cells, data, truth, result, seen


# --- (a) the smoother ---------------------------------------------------------------------------------------------

def test_rts_smoother_beats_its_measurements_and_bridges_missing_ones():
    rng = np.random.default_rng(1)
    t = np.arange(400) / 10.0
    truth = np.stack([3.0 + 1.2 * t, -5.0 + 0.5 * t], axis=1)  # constant velocity
    z = truth + rng.normal(0.0, 5.0, truth.shape)
    var = np.full(len(t), 25.0)
    var[rng.random(len(t)) < 0.3] = np.inf  # 30 % missing at random
    var[150:250] = np.inf  # and a 10 s gap
    z[~np.isfinite(var)] = np.nan  # what stands there must not matter

    xy, cov = rts_smoother(z, t, var, accel_psd=0.5)

    assert xy.shape == (400, 2) and cov.shape == (400, 2, 2) and np.isfinite(xy).all()
    measured = np.isfinite(var)
    meas_err = np.linalg.norm(z[measured] - truth[measured], axis=1).mean()
    smooth_err = np.linalg.norm(xy - truth, axis=1)
    assert smooth_err[measured].mean() < 0.4 * meas_err
    assert smooth_err[150:250].max() < 0.5 * meas_err  # the gap is bridged by the motion model
    assert smooth_err[:10].mean() < 0.25 * meas_err  # smoothing: the first samples gain from the later ones
    # the covariance is honest: larger inside the gap than where measurements are dense, below R there
    assert cov[200, 0, 0] > cov[100, 0, 0] and cov[100, 0, 0] < 25.0 and cov[100, 0, 1] == 0.0
    assert cov[200, 0, 0] > cov[245, 0, 0]  # smoothed, not filtered: largest in the middle of the gap


def test_rts_smoother_fuses_several_measurements_per_step_and_ignores_inf():
    rng = np.random.default_rng(2)
    n = 3000
    t = np.cumsum(rng.uniform(0.05, 0.2, n))  # irregular sampling
    truth = np.stack([2.0 * t, 100.0 - 0.7 * t], axis=1)
    z1 = truth + rng.normal(0.0, 8.0, truth.shape)
    z2 = truth + rng.normal(0.0, 8.0, truth.shape)
    one, cov_one = rts_smoother(z1, t, np.full(n, 64.0), 0.5)
    # a second stream that is never available changes nothing
    same, _ = rts_smoother(np.stack([z1, z2], axis=1), t, np.stack([np.full(n, 64.0), np.full(n, np.inf)], 1), 0.5)
    np.testing.assert_allclose(same, one, rtol=0, atol=1e-9)
    # two independent streams beat one, and the covariance says so
    both, cov_both = rts_smoother(np.stack([z1, z2], axis=1), t, np.full((n, 2), 64.0), 0.5)
    assert np.linalg.norm(both - truth, axis=1).mean() < 0.9 * np.linalg.norm(one - truth, axis=1).mean()
    assert cov_both[n // 2, 0, 0] < 0.7 * cov_one[n // 2, 0, 0]


def test_rts_smoother_equals_the_textbook_matrix_form():
    """The scalar-unrolled filter/smoother against the 4-state matrix Kalman filter + RTS smoother, with irregular
    steps, two measurements per step and missing ones."""
    rng = np.random.default_rng(3)
    n, q = 60, 0.7
    t = np.cumsum(rng.uniform(0.05, 0.5, n))
    z = rng.normal(0.0, 10.0, (n, 2, 2)) + t[:, None, None]
    var = rng.uniform(5.0, 50.0, (n, 2))
    var[rng.random((n, 2)) < 0.3] = np.inf
    var[0] = [20.0, np.inf]
    xy, cov = rts_smoother(z, t, var, q)

    def f(dt):
        return np.kron(np.eye(2), [[1.0, dt], [0.0, 1.0]])  # state (x, vx, y, vy)

    def qm(dt):
        return np.kron(np.eye(2), q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]]))

    h = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    x, p = np.array([z[0, 0, 0], 0, z[0, 0, 1], 0]), np.diag([1e6, 100.0, 1e6, 100.0])
    xp, pp, xf, pf = [], [], [], []
    loglik, first = 0.0, True
    for k in range(n):
        if k:
            dt = t[k] - t[k - 1]
            x, p = f(dt) @ x, f(dt) @ p @ f(dt).T + qm(dt)
        xp.append(x), pp.append(p)
        for s in range(2):
            if np.isfinite(var[k, s]):
                cov_innov = h @ p @ h.T + var[k, s] * np.eye(2)
                innov = z[k, s] - h @ x
                if not first:  # the first update (against the diffuse prior) is not scored
                    loglik += -0.5 * (np.log(np.linalg.det(2 * np.pi * cov_innov))
                                      + innov @ np.linalg.solve(cov_innov, innov))
                first = False
                gain = p @ h.T @ np.linalg.inv(cov_innov)
                x, p = x + gain @ innov, (np.eye(4) - gain @ h) @ p
        xf.append(x), pf.append(p)
    xs, ps = [xf[-1]], [pf[-1]]
    for k in range(n - 2, -1, -1):
        c = pf[k] @ f(t[k + 1] - t[k]).T @ np.linalg.inv(pp[k + 1])
        xs.insert(0, xf[k] + c @ (xs[0] - xp[k + 1]))
        ps.insert(0, pf[k] + c @ (ps[0] - pp[k + 1]) @ c.T)
    np.testing.assert_allclose(xy, np.array(xs)[:, [0, 2]], rtol=0, atol=1e-8)
    np.testing.assert_allclose(cov, np.array(ps)[:, [0, 2]][:, :, [0, 2]], rtol=1e-8, atol=1e-8)
    # causal=True is the forward filter; innovation_loglik its prediction-error log-likelihood
    fxy, fcov = rts_smoother(z, t, var, q, causal=True)
    np.testing.assert_allclose(fxy, np.array(xf)[:, [0, 2]], rtol=0, atol=1e-8)
    np.testing.assert_allclose(fcov, np.array(pf)[:, [0, 2]][:, :, [0, 2]], rtol=1e-8, atol=1e-8)
    assert innovation_loglik(z, t, var, q) == pytest.approx(loglik, rel=1e-10)


# --- (b) the SKF trajectory ------------------------------------------------------------------------------------

def test_skf_improves_on_the_coarse_input_and_on_the_plain_smoother(street_run):
    cells, data, truth, result, seen = street_run
    coarse_err = mean_error([d.coarse_xy for d in data], truth)
    smoother_err = mean_error(seen[0], truth)  # iteration 0: the smoother on the coarse locations alone
    skf_err = mean_error(result.xy, truth)
    assert skf_err <= 0.6 * coarse_err
    assert skf_err <= 0.9 * smoother_err  # the radio map adds what the motion model alone cannot
    assert [len(x) for x in result.xy] == [len(d) for d in data]
    for xy, c in zip(result.xy, result.cells):  # cells are the nearest cells of the estimates
        np.testing.assert_array_equal(c, np.argmin(((xy[:, None, :] - cells[None]) ** 2).sum(-1), axis=1))
    # diagnostics without ground truth, one row per iteration
    assert [row["iteration"] for row in result.history] == [0, 1, 2, 3, 4]
    assert all(0.01 <= row["sigma"] < 0.1 and row["fix_share"] > 0.5 for row in result.history[1:])


def test_a_single_pass_without_revisits_gives_the_map_nothing_to_add():
    """The map of a walk that never comes back is built from the same estimates it would correct: the EM must not
    feed on itself, so the result is the plain smoother."""
    rng = np.random.default_rng(3)
    data, truth = walk(rng, "once", [(1.0, 6.0), (291.0, 6.0), (291.0, 199.0)])
    seen = {}
    result = radio_map_kalman_smoother([data], street_cells(), SKFConfig(iterations=2),
                                       on_iteration=lambda row, xy: seen.setdefault(row["iteration"], xy))
    np.testing.assert_allclose(result.xy[0], seen[0][0], atol=1e-9)
    assert result.history[-1]["fix_share"] == 0.0


# --- (c) the radio map -----------------------------------------------------------------------------------------

def test_estimated_radio_map_matches_the_synthetic_map(street_run):
    cells, data, truth, result, _ = street_run
    assert isinstance(result, SKFResult)
    assert result.radio_map_g.shape == result.radio_map_counts.shape == (len(cells), N_ENTRIES)
    assert result.radio_map_counts.sum() == sum(int(d.m.sum()) for d in data)
    observed = result.radio_map_counts > 0
    assert np.isnan(result.radio_map_g[~observed]).all() and np.isfinite(result.radio_map_g[observed]).all()
    true_map = beam_map(cells)
    rmse = np.sqrt(np.mean((result.radio_map_g[observed] - true_map[observed]) ** 2))
    assert rmse < 0.05
    filled = result.filled_radio_map(cells)
    assert filled.shape == (len(cells), N_ENTRIES) and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[observed], result.radio_map_g[observed])
    # the filled map is still a map of the site, not noise: the unvisited cells are close to the truth too
    assert np.sqrt(np.mean((filled - true_map) ** 2)) < 0.1


def test_radio_map_from_positions_averages_observed_entries_per_cell():
    cells = [np.array([0, 0, 2]), np.array([2])]
    g = [np.array([[0.2, 0.9], [0.4, 0.0], [0.5, 0.7]]), np.array([[0.1, 0.3]])]
    m = [np.array([[True, False], [True, False], [False, True]]), np.array([[False, True]])]
    mean, counts = radio_map_from_positions(cells, g, m, num_cells=3)
    np.testing.assert_array_equal(counts, [[2, 0], [0, 0], [0, 2]])
    np.testing.assert_allclose(mean[0, 0], 0.3)
    np.testing.assert_allclose(mean[2, 1], 0.5)
    assert np.isnan(mean[0, 1]) and np.isnan(mean[1]).all() and np.isnan(mean[2, 0])


# --- (d) bad input -----------------------------------------------------------------------------------------------

def _small(**change) -> TrajectoryData:
    fields = dict(trajectory_id="x", g=np.zeros((5, 4), np.float32), m=np.ones((5, 4), bool),
                  t_s=np.arange(5.0), coarse_xy=np.zeros((5, 2)))
    fields.update(change)
    return TrajectoryData(**fields)


@pytest.mark.parametrize("data, cells, match", [
    ([], street_cells(), "empty data"),
    ([_small(t_s=np.array([0.0, 1.0, 1.0, 2.0, 3.0]))], street_cells(), "strictly increasing"),
    ([_small(m=np.ones((5, 3), bool))], street_cells(), "m must have g's shape"),
    ([_small(coarse_xy=np.zeros((4, 2)))], street_cells(), "coarse_xy must be"),
    ([_small(), _small(g=np.zeros((5, 3), np.float32), m=np.ones((5, 3), bool))], street_cells(), "N=3 entries"),
    ([_small(g=np.full((5, 4), np.nan, np.float32))], street_cells(), "non-finite values at observed entries"),
    ([_small()], np.zeros((4, 3)), "cell_centres_m must be"),
])
def test_bad_input_raises_a_value_error_naming_the_problem(data, cells, match):
    with pytest.raises(ValueError, match=match):
        radio_map_kalman_smoother(data, cells)


def test_bad_smoother_input_and_config_raise():
    t = np.arange(4.0)
    with pytest.raises(ValueError, match="meas_var must be"):
        rts_smoother(np.zeros((4, 2)), t, np.ones(3), 0.5)
    with pytest.raises(ValueError, match="no measurement"):
        rts_smoother(np.zeros((4, 2)), t, np.full(4, np.inf), 0.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        rts_smoother(np.zeros((4, 2)), t[::-1], np.ones(4), 0.5)
    with pytest.raises(ValueError, match="candidate_cells"):
        radio_map_kalman_smoother([_small()], street_cells(), SKFConfig(candidate_cells=0))
