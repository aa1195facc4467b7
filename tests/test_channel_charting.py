"""Channel-charting baselines (models/baselines/channel_charting.py) on a tiny synthetic site.

Site: 3 base stations at known positions, 4 beams each; g = clip(1 - d/400 + 0.15 cos(angle - boresight_j)
+ N(0, 0.02^2), 0, 1); M = 2 of 4 beams observed per base station and sample; two trajectories (out and back) at
1 m/s along an L-shaped street of 350 m sampled at 5 Hz; coarse = truth + N(0, 20^2) per axis.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.baselines.channel_charting import (ChannelChartNetwork, ChartConfig, choose_labelled_samples,
                                               predict_chart, strongest_per_bs, train_channel_chart,
                                               variant_config)
from models.beam_map.training import TrajectoryData


BS_XY = np.array([[-60.0, 120.0], [260.0, -40.0], [120.0, 220.0]])
BEAMS = 4
OBSERVED = 2
# Small network and batches: the behaviour under test does not need the paper-sized defaults.
FAST = dict(hidden=(64, 64), batch_size=8, seq_len=32)


def _beam_map(xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(L, 2) -> g (L, N_b·|W|), entry k = b·|W| + j."""
    d = xy[:, None, :] - BS_XY[None]  # (L, N_b, 2)
    dist = np.linalg.norm(d, axis=-1)
    angle = np.arctan2(d[..., 1], d[..., 0])
    boresight = np.arange(BEAMS) * np.pi / 2
    g = 1 - dist[..., None] / 400 + 0.15 * np.cos(angle[..., None] - boresight)  # (L, N_b, |W|)
    g = g + rng.normal(0.0, 0.02, g.shape)
    return np.clip(g, 0, 1).reshape(len(xy), -1).astype(np.float32)


def _street(reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, 350.0, 0.2)  # 5 Hz, 1 m/s
    s = t.copy()
    xy = np.where(s[:, None] < 200, np.stack([s, np.zeros_like(s)], 1), np.stack([np.full_like(s, 200.0), s - 200], 1))
    return t, (xy[::-1].copy() if reverse else xy)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on the 2-core machine under load, 2 threads made these tests ~15x slower (46 s vs 3 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def site():
    rng = np.random.default_rng(7)
    data, truth = [], []
    for i, reverse in enumerate([False, True]):
        t, xy = _street(reverse)
        g = _beam_map(xy, rng)
        ranks = rng.random((len(t), len(BS_XY), BEAMS)).argsort(axis=2).argsort(axis=2)
        m = (ranks < OBSERVED).reshape(len(t), -1)
        coarse = xy + rng.normal(0.0, 20.0, xy.shape)
        data.append(TrajectoryData(f"t{i}", g, m, t, coarse))
        truth.append(xy)
    return data, truth


def _stack(data, truth):
    return (np.concatenate([d.g for d in data]), np.concatenate([d.m for d in data]), np.concatenate(truth),
            np.concatenate([d.coarse_xy for d in data]))


def _config(name: str, steps: int, **over) -> tuple[ChartConfig, str]:
    config, supervision = variant_config(name, steps)
    return dataclasses.replace(config, **FAST, **over), supervision


def test_variant_configs_carry_the_papers_weights():
    gt, s_gt = variant_config("semi_cc_gt")
    noisy, s_noisy = variant_config("semi_cc_noisy", steps=10)
    rw, s_rw = variant_config("real_world_cc")
    assert (s_gt, s_noisy, s_rw) == ("labels", "coarse", "base_stations")
    assert (gt.lambda_c, gt.lambda_t) == (1.0, 1.0)
    assert (noisy.lambda_c, noisy.lambda_t, noisy.steps) == (0.01, 1.0, 10)
    assert rw.lambda_t == 1.0 and rw.lambda_bs > 0


def test_strongest_per_bs_reads_entry_b_times_beams_plus_j():
    g = torch.tensor([[0.1, 0.9, 0.5, 0.2, 0.3, 0.8]])  # N_b = 3, |W| = 2
    m = torch.tensor([[True, False, True, True, False, False]])
    s = strongest_per_bs(g, m, num_bs=3, beams_per_bs=2)
    assert s[0, 0].item() == pytest.approx(0.1)  # beam 1 of BS 0 (0.9) is not observed
    assert s[0, 1].item() == pytest.approx(0.5)
    assert s[0, 2].item() == -np.inf  # BS 2 not heard


def test_choose_labelled_samples_counts_and_caps():
    masks = choose_labelled_samples([100, 50, 0], count=30, seed=1)
    assert [mk.shape for mk in masks] == [(100,), (50,), (0,)]
    assert sum(int(mk.sum()) for mk in masks) == 30
    capped = choose_labelled_samples([10, 10], count=500, seed=1)
    assert sum(int(mk.sum()) for mk in capped) == 10  # at most half of all samples
    again = choose_labelled_samples([100, 50, 0], count=30, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))


def test_semi_cc_gt_beats_coarse_on_unlabelled_samples(site):
    data, truth = site
    masks = choose_labelled_samples([len(d) for d in data], 300, seed=0)
    labels = [np.where(mk[:, None], xy, np.nan) for mk, xy in zip(masks, truth)]
    config, supervision = _config("semi_cc_gt", 300)
    net, history = train_channel_chart(data, supervision, config, labels_xy=labels)
    g, m, xy, coarse = _stack(data, truth)
    unlabelled = ~np.concatenate(masks)
    err = np.linalg.norm(predict_chart(net, g, m) - xy, axis=1)[unlabelled].mean()
    coarse_err = np.linalg.norm(coarse - xy, axis=1)[unlabelled].mean()
    assert len(history) == 300 and {"triplet", "location", "total"} <= set(history[-1])
    assert err < 0.6 * coarse_err, (err, coarse_err)


def test_real_world_cc_orders_base_stations_by_power(site):
    data, truth = site
    config, supervision = _config("real_world_cc", 300)
    net, history = train_channel_chart(data, supervision, config, bs_xy=BS_XY, beams_per_bs=BEAMS)
    g, m, xy, _ = _stack(data, truth)
    p = predict_chart(net, g, m)
    heard = g.reshape(len(g), len(BS_XY), BEAMS).copy()
    heard[~m.reshape(heard.shape)] = -1.0
    strongest = heard.max(axis=2).argmax(axis=1)  # base station heard most strongly, per sample
    closest = np.linalg.norm(p[:, None] - BS_XY[None], axis=-1).argmin(axis=1)
    agree = np.mean(closest == strongest)
    # A constant chart (or one that ignores the input) gets at most the share of the most common strongest BS.
    constant = np.bincount(strongest, minlength=len(BS_XY)).max() / len(strongest)
    assert agree > max(0.8, constant + 0.2), (agree, constant)
    assert np.isfinite(p).all() and "bs_order" in history[-1]
    # The bounding-box prior (BS box padded by 50 m) holds the chart on the site.
    lo, hi = BS_XY.min(axis=0) - config.box_padding_m, BS_XY.max(axis=0) + config.box_padding_m
    assert np.mean(((p >= lo - 1) & (p <= hi + 1)).all(axis=1)) > 0.95


def test_semi_cc_noisy_returns_finite_positions(site):
    data, truth = site
    config, supervision = _config("semi_cc_noisy", 50)
    rows = []
    net, history = train_channel_chart(data, supervision, config, on_step=lambda s, row: rows.append(s))
    p = predict_chart(net, data[0].g, data[0].m)
    assert p.shape == (len(data[0]), 2) and np.isfinite(p).all()
    assert rows == list(range(1, 51)) and len(history) == 50 and "location" in history[0]
    assert isinstance(net, ChannelChartNetwork) and not net.training
    assert np.allclose(net.centre.numpy(), np.concatenate([d.coarse_xy for d in data]).mean(axis=0), atol=1e-3)


def test_same_seed_same_chart_other_seed_other_chart(site):
    data, _ = site
    config, supervision = _config("semi_cc_noisy", 20)
    net_a, hist_a = train_channel_chart(data, supervision, config)
    net_b, hist_b = train_channel_chart(data, supervision, config)
    net_c, _ = train_channel_chart(data, supervision, dataclasses.replace(config, seed=1))
    p_a, p_b, p_c = (predict_chart(n, data[1].g, data[1].m) for n in (net_a, net_b, net_c))
    assert np.array_equal(p_a, p_b)
    assert [r["total"] for r in hist_a] == [r["total"] for r in hist_b]
    assert not np.allclose(p_a, p_c)


def test_bad_inputs_raise_clear_errors(site):
    data, truth = site
    config, _ = _config("semi_cc_gt", 1)
    with pytest.raises(ValueError, match="needs labels_xy"):
        train_channel_chart(data, "labels", config)
    with pytest.raises(ValueError, match="at least 1 labelled sample"):
        train_channel_chart(data, "labels", config, labels_xy=[np.full((len(d), 2), np.nan) for d in data])
    with pytest.raises(ValueError, match=r"must be \(1750, 2\)"):
        train_channel_chart(data, "labels", config, labels_xy=[xy[:10] for xy in truth])
    with pytest.raises(ValueError, match="2 trajectories"):
        train_channel_chart(data, "labels", config, labels_xy=truth[:1])
    with pytest.raises(ValueError, match="needs bs_xy"):
        train_channel_chart(data, "base_stations", config)
    with pytest.raises(ValueError, match=r"bs_xy must be \(N_b, 2\)"):
        train_channel_chart(data, "base_stations", config, bs_xy=BS_XY[:, :1])
    with pytest.raises(ValueError, match="does not match"):
        train_channel_chart(data, "base_stations", config, bs_xy=BS_XY, beams_per_bs=3)
    with pytest.raises(ValueError, match="unknown supervision"):
        train_channel_chart(data, "gps", config)
    with pytest.raises(ValueError, match="seq_len=5000"):
        train_channel_chart(data, "coarse", dataclasses.replace(config, seq_len=5000))
    bad = TrajectoryData("bad", data[0].g, data[0].m[:, :5], data[0].t_s, data[0].coarse_xy)
    with pytest.raises(ValueError, match="g and m must both be"):
        train_channel_chart([bad], "coarse", config)
    with pytest.raises(ValueError, match="unknown channel-charting variant"):
        variant_config("cc")
    with pytest.raises(ValueError, match="at least 1 labelled sample"):
        choose_labelled_samples([100], count=0, seed=0)
    net = ChannelChartNetwork(12, (8,))
    with pytest.raises(ValueError, match=r"must be \(L, 12\)"):
        predict_chart(net, np.zeros((3, 5)), np.zeros((3, 5), bool))


def test_the_distance_bound_loss_counts_only_the_excess_beyond_a_bound():
    """The distance term of Real-world CC: zero inside every bound, the excess distance outside, averaged over the
    (sample, base station) pairs that have a bound (the training's effect: the next test)."""
    from models.baselines.channel_charting import distance_bound_loss

    bs = torch.tensor([[0.0, 0.0], [100.0, 0.0]])
    p = torch.tensor([[30.0, 40.0], [3.0, 4.0]])  # 50 m and 5 m from the first base station
    bound = torch.tensor([[10.0, np.inf], [10.0, np.inf]])
    assert float(distance_bound_loss(p, bs, bound)) == pytest.approx((40.0 + 0.0) / 2)
    assert float(distance_bound_loss(p, bs, torch.full((2, 2), np.inf))) == 0.0


def test_real_world_cc_keeps_its_chart_inside_the_distance_bounds(site):
    """Bounds 30 m beyond each sample's true distance to every base station (a tight distance model): the chart
    trained with them lies inside far more often than the one trained without."""
    data, truth = site
    config, supervision = _config("real_world_cc", 300)
    bounds = [np.linalg.norm(xy[:, None] - BS_XY[None], axis=-1) + 30.0 for xy in truth]
    g, m, xy, _ = _stack(data, truth)
    inside = {}
    for label, kw in (("without", {}), ("with", {"bs_max_distance_m": bounds})):
        net, history = train_channel_chart(data, supervision, config, bs_xy=BS_XY, beams_per_bs=BEAMS, **kw)
        p = predict_chart(net, g, m)
        inside[label] = np.mean((np.linalg.norm(p[:, None] - BS_XY[None], axis=-1) <= np.concatenate(bounds)).all(1))
        assert ("distance" in history[-1]) == bool(kw)
    assert inside["with"] > max(0.7, inside["without"] + 0.2), inside
