"""Floors of the localization tables on hand-made trajectories (no Dagster, no ray tracing): the coarse-only floors
of ``models.baselines.floors``, the causal SKF, and Table II's covered / uncovered split.

The walk: straight, 1 m/s along x for 300 s at 10 Hz; coarse = truth + N(0, 20^2) per axis (seeded), the paper's
outdoor protocol. The floors see only t_s and the coarse locations; the truth only scores them.
"""

import numpy as np
import pytest

from models.baselines.floors import (FLOOR_NAMES, CVNoise, choose_cv_noise, coarse_floors, cv_smoother,
                                     moving_average)

NOISE_STD_M = 20.0


def mean_error(xy, truth) -> float:
    return float(np.linalg.norm(np.asarray(xy) - truth, axis=1).mean())


@pytest.fixture(scope="module")
def walk():
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 10.0
    truth = np.stack([10.0 + 1.0 * t, np.full_like(t, 5.0)], axis=1)
    coarse = truth + rng.normal(0.0, NOISE_STD_M, truth.shape)
    return t, truth, coarse


@pytest.fixture(scope="module")
def floors_on_walk(walk):
    t, truth, coarse = walk
    out, noise = coarse_floors(t, coarse)
    return out, noise, {name: mean_error(xy, truth) for name, xy in out.items()}


def test_moving_averages_beat_the_raw_input_and_longer_windows_beat_shorter(walk, floors_on_walk):
    t, truth, coarse = walk
    out, _, err = floors_on_walk
    assert list(out) == list(FLOOR_NAMES) and all(xy.shape == coarse.shape for xy in out.values())
    raw = mean_error(coarse, truth)  # about 20 sqrt(pi / 2) = 25 m
    assert err["coarse_ma_10s"] < err["coarse_ma_1s"] < raw
    # white noise: an 11-sample (1 s) / 101-sample (10 s) mean divides the error by about sqrt(11) / sqrt(101)
    assert err["coarse_ma_1s"] < 0.4 * raw and err["coarse_ma_10s"] < 0.15 * raw


def test_moving_average_window_is_centred_by_time_and_cut_at_the_ends():
    t = np.array([0.0, 0.5, 1.0, 3.0, 3.2])  # irregular, with a gap
    xy = np.stack([np.arange(5.0), -np.arange(5.0)], axis=1)
    out = moving_average(t, xy, window_s=1.0)  # |t - t_k| <= 0.5 s
    np.testing.assert_allclose(out[:, 0], [0.5, 1.0, 1.5, 3.5, 3.5])
    np.testing.assert_allclose(out[:, 1], -out[:, 0])


def test_moving_average_of_a_constant_position_is_the_mean():
    rng = np.random.default_rng(1)
    t = np.arange(50) / 10.0  # 5 s
    coarse = np.array([120.0, -40.0]) + rng.normal(0.0, NOISE_STD_M, (50, 2))
    out = moving_average(t, coarse, window_s=10.0)  # every window holds the whole trajectory
    np.testing.assert_allclose(out, np.broadcast_to(coarse.mean(axis=0), out.shape), rtol=0, atol=1e-9)
    still = np.full((50, 2), [3.0, 4.0])  # a noiseless standing user stays where it is
    np.testing.assert_allclose(moving_average(t, still, 1.0), still, rtol=0, atol=1e-9)


def test_cv_smoother_chooses_the_noise_variance_from_the_data_and_beats_the_moving_average(walk, floors_on_walk):
    t, truth, coarse = walk
    out, noise, err = floors_on_walk
    assert isinstance(noise, CVNoise)
    assert NOISE_STD_M ** 2 / 2 <= noise.coarse_variance_m2 <= NOISE_STD_M ** 2 * 2  # no label told it 400 m^2
    assert noise.accel_psd <= 1e-2  # a straight walk at constant speed: little acceleration
    assert err["cv_smoother"] < err["coarse_ma_10s"]
    # the chosen noise levels beat a badly chosen pair on the same walk, and the likelihood says so
    bad = CVNoise(coarse_variance_m2=4.0, accel_psd=1.0, loglik=float("nan"), on_grid_edge=False)
    assert mean_error(cv_smoother(t, coarse, bad), truth) > 2 * err["cv_smoother"]
    causal = mean_error(cv_smoother(t, coarse, noise, causal=True), truth)
    assert err["cv_smoother"] < causal < mean_error(coarse, truth)


def test_skf_causal_lies_between_the_raw_input_and_the_smoother(walk):
    """The SKF on the walk (one pass, no revisit: its map adds nothing, so it is the constant-velocity model with its
    configured noise): forward filter only beats the raw input and does not beat the RTS smoother."""
    from models.baselines.kalman import SKFConfig, radio_map_kalman_smoother
    from models.beam_map.training import TrajectoryData

    t, truth, coarse = walk
    cells = np.array([(x, y) for x in np.arange(2.5, 320.0, 5.0) for y in (2.5, 7.5)])
    bs = np.array([[0.0, 100.0], [300.0, -80.0]])
    g = np.clip(0.9 - np.linalg.norm(truth[:, None] - bs[None], axis=-1) / 500.0, 0.0, 1.0)  # (L, 2) smooth map
    data = [TrajectoryData("walk", g.astype(np.float32), np.ones_like(g, dtype=bool), t, coarse)]
    smooth = radio_map_kalman_smoother(data, cells, SKFConfig(iterations=1))
    causal = radio_map_kalman_smoother(data, cells, SKFConfig(iterations=1, causal=True))
    raw, e_smooth, e_causal = (mean_error(coarse, truth), mean_error(smooth.xy[0], truth),
                               mean_error(causal.xy[0], truth))
    assert e_smooth <= e_causal < raw
    assert causal.config["causal"] is True and smooth.config["causal"] is False


@pytest.mark.parametrize("t, xy, match", [
    (np.array([0.0, 0.2, 0.1, 0.3]), np.zeros((4, 2)), "strictly increasing"),
    (np.array([0.0, 0.1, 0.1, 0.3]), np.zeros((4, 2)), "strictly increasing"),
    (np.arange(4.0), np.zeros((3, 2)), "coarse_xy must be"),
    (np.arange(4.0), np.zeros((4, 3)), "coarse_xy must be"),
    (np.zeros((0,)), np.zeros((0, 2)), "non-empty"),
    (np.arange(4.0), np.array([[0, 0], [1, 1], [np.nan, 2], [3, 3]]), "finite"),
])
def test_bad_input_raises_a_value_error_naming_the_problem(t, xy, match):
    for fn in (lambda: moving_average(t, xy, 1.0), lambda: choose_cv_noise(t, xy), lambda: cv_smoother(t, xy),
               lambda: coarse_floors(t, xy)):
        with pytest.raises(ValueError, match=match):
            fn()


def test_bad_window_raises():
    with pytest.raises(ValueError, match="window_s"):
        moving_average(np.arange(3.0), np.zeros((3, 2)), 0.0)


def test_covered_split_of_held_out_samples():
    from radiomap_assets.experiments import CampaignTruth, covered_samples, localization_scores

    train = [np.stack([np.arange(0.0, 100.0), np.zeros(100)], axis=1)]  # y = 0, x = 0..99
    test_xy = np.stack([np.arange(0.0, 40.0, 2.0), np.r_[np.full(10, 3.0), np.full(10, 30.0)]], axis=1)  # (20, 2)
    covered = covered_samples([test_xy], train)
    np.testing.assert_array_equal(covered, np.r_[np.ones(10, bool), np.zeros(10, bool)])
    est = test_xy + np.r_[np.full(10, 1.0), np.full(10, 4.0)][:, None] * np.array([1.0, 0.0])
    truth = CampaignTruth([test_xy], [np.ones((20, 1), bool)])
    s = localization_scores(truth, [est], covered)
    assert s["covered_mean_error_m"] == pytest.approx(1.0) and s["uncovered_mean_error_m"] == pytest.approx(4.0)
    assert s["covered_share"] == pytest.approx(0.5)
    assert "covered_share" not in localization_scores(truth, [est])  # only where a split is asked for
