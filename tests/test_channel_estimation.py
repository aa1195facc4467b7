"""Seed 003 (issue 13): NMSE, LS, LMMSE and OMP on hand-made channels, the eq. (5)-(6) features, L_TC, the
training walks, the tracker's size against N_B, and a small end-to-end check that the proposed tracker beats LS
when the pilots are too few (unit tier: no ray tracing; about 30 s)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.channel_estimation.classical import (LmmseEstimator, OmpEstimator, PriorLmmse, angular_dictionary,
                                                 ls_estimate, nmse, nmse_db)
from models.channel_estimation.config import ChannelEstimationConfig, cpu_config
from models.channel_estimation.losses import temporal_correlation_loss
from models.channel_estimation.pilots import PilotDesign, pilot_design, received_pilots, unvec, vec
from models.channel_estimation.preprocessing import from_features, to_features
from models.channel_estimation.tracker import EndToEndTracker, LatentTracker, parameter_count
from models.channel_estimation.training import neighbour_walk_sampler


def _complex_normal(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_nmse_on_hand_made_channels():
    H = np.ones((2, 3, 2), complex)
    assert np.allclose(nmse(H, H), 0.0)
    assert np.allclose(nmse(np.zeros_like(H), H), 1.0)
    assert np.allclose(nmse(2 * H, H), 1.0) and np.allclose(nmse(1.1 * H, H), 0.01)
    assert nmse_db(1.1 * H, H) == pytest.approx(-20.0)


def test_vec_is_column_wise_and_the_measurement_matrix_is_eq_2():
    rng = np.random.default_rng(0)
    H = _complex_normal(rng, (4, 2))
    assert np.allclose(vec(H), np.concatenate([H[:, 0], H[:, 1]]))
    assert np.allclose(unvec(vec(H), 4, 2), H)
    design = pilot_design(4, 2, 3, 2, seed=1)
    assert np.allclose(design.measurement_matrix() @ vec(H), vec(design.observe(H)))
    assert np.allclose(np.linalg.norm(design.W, axis=0), 1.0) and np.allclose(np.linalg.norm(design.G, axis=0), 1.0)


def test_ls_is_exact_without_noise_when_the_pilots_are_full_rank():
    rng = np.random.default_rng(0)
    H = _complex_normal(rng, (5, 6, 2))
    design = pilot_design(6, 2, 6, 2, seed=3)  # M_B M_U = N_B N_U and M of full rank
    assert np.linalg.matrix_rank(design.measurement_matrix()) == 12
    assert np.all(nmse(ls_estimate(design.observe(H), design), H) < 1e-20)
    # too few pilots: the minimum-norm solution keeps the projection on M's row space only (eq. (3) with M^+)
    few = pilot_design(6, 2, 3, 2, seed=3)
    assert 0.3 < np.mean(nmse(ls_estimate(few.observe(H), few), H)) < 0.7  # about 1 - 6/12


def test_lmmse_beats_ls_at_low_snr_on_channels_of_a_known_covariance():
    rng = np.random.default_rng(0)
    n_b, n_u = 8, 2
    A = _complex_normal(rng, (n_b * n_u, 4))  # rank-4 covariance R = A A^H
    draw = lambda n: unvec(_complex_normal(rng, (n, 4)) @ A.T, n_b, n_u)  # noqa: E731
    H_train, H_test = draw(2000), draw(300)
    design = pilot_design(n_b, n_u, n_b, n_u, seed=2)  # full-rank pilots: LS is unbiased
    noise = float(np.mean(np.abs(H_train) ** 2))  # 0 dB SNR per antenna pair
    Y = received_pilots(H_test, design, noise, rng)
    ls, lmmse = nmse_db(ls_estimate(Y, design), H_test), nmse_db(LmmseEstimator(H_train, design, noise)(Y), H_test)
    print(f"0 dB SNR: LS {ls:.1f} dB, LMMSE {lmmse:.1f} dB")
    assert lmmse < ls - 5.0


def test_an_informative_prior_lowers_lmmse_and_a_wrong_one_falls_back_to_it():
    """PriorLmmse (the declared variant proposed_lmmse): the prior as a second observation of H. A prior whose errors
    match its training residuals must beat LMMSE; a prior that is far worse than its training residuals claim must
    be discounted by the likelihood's kappa, to within a fraction of a dB of plain LMMSE."""
    rng = np.random.default_rng(0)
    n_b, n_u = 8, 2
    A = _complex_normal(rng, (n_b * n_u, 12))  # rank-12 covariance: 12 unknowns per channel
    draw = lambda n: unvec(_complex_normal(rng, (n, 12)) @ A.T, n_b, n_u)  # noqa: E731
    H_train, H_test = draw(2000), draw(200)
    design = pilot_design(n_b, n_u, 3, 2, seed=2)  # 6 observations for 12 unknowns: LMMSE cannot pin H down
    noise = 0.01 * float(np.mean(np.abs(H_train) ** 2))
    Y = received_pilots(H_test, design, noise, rng)
    lmmse = LmmseEstimator(H_train, design, noise)
    err = lambda n, scale: scale * _complex_normal(rng, (n, n_b * n_u))  # noqa: E731
    good = PriorLmmse(unvec(err(2000, 0.3), n_b, n_u), lmmse, design, noise)
    H_good = good(Y, H_test + unvec(err(len(H_test), 0.3), n_b, n_u))
    bad = PriorLmmse(unvec(err(2000, 0.3), n_b, n_u), lmmse, design, noise)  # claims 0.3, is 3
    H_bad = bad(Y, H_test + unvec(err(len(H_test), 3.0), n_b, n_u))
    db = {"lmmse": nmse_db(lmmse(Y), H_test), "good prior": nmse_db(H_good, H_test),
          "wrong prior": nmse_db(H_bad, H_test)}
    print(db, "kappa", good.kappa, bad.kappa)
    assert db["good prior"] < db["lmmse"] - 3.0
    assert 0.5 <= good.kappa <= 2.0  # the likelihood finds the prior's true error scale
    assert bad.kappa >= 50.0 and db["wrong prior"] < db["lmmse"] + 0.5


def test_omp_recovers_a_two_path_angular_sparse_channel():
    rng = np.random.default_rng(0)
    bs, ue = (4, 4), (2, 2)
    A_B, A_U = angular_dictionary(*bs, 2), angular_dictionary(*ue, 2)  # the estimator's own grid
    i_b, i_u = rng.choice(A_B.shape[1], 2, replace=False), rng.choice(A_U.shape[1], 2, replace=False)
    gains = np.array([1.0, 0.5j])
    H = sum(g * np.outer(A_B[:, b], A_U[:, u]) for g, b, u in zip(gains, i_b, i_u))[None]
    design = pilot_design(16, 4, 6, 4, seed=0)  # 24 observations for 64 unknowns
    noise = 1e-6 * float(np.mean(np.abs(H) ** 2))
    Y = received_pilots(H, design, noise, rng)
    omp = OmpEstimator(design, bs, ue, noise, oversampling=2, max_paths=6)
    print(f"OMP {nmse_db(omp(Y), H):.1f} dB, LS {nmse_db(ls_estimate(Y, design), H):.1f} dB")
    assert nmse_db(omp(Y), H) < -30.0
    assert nmse_db(ls_estimate(Y, design), H) > -3.0


@pytest.mark.parametrize("representation", ["amplitude_phase", "real_imag"])
def test_the_features_of_eqs_5_and_6_invert(representation):
    rng = np.random.default_rng(0)
    H = torch.as_tensor(_complex_normal(rng, (3, 6, 2)), dtype=torch.complex64)
    v, alpha, beta = to_features(H, representation)
    assert v.shape == (3, 24)
    if representation == "amplitude_phase":  # eq. (5): standardized amplitudes, phases / pi in [-1, 1]
        assert torch.allclose(v[:, :12].mean(dim=1), torch.zeros(3), atol=1e-5)
        assert float(v[:, 12:].abs().max()) <= 1.0
    assert torch.allclose(from_features(v, alpha, beta, 6, 2, representation), H, atol=1e-5)


def test_the_temporal_correlation_loss_is_zero_when_latents_copy_the_geometry():
    pos = torch.randn(16, 2)
    s = torch.cat([3 * pos, torch.zeros(16, 5)], dim=1)  # distances scaled by 3: the same after standardizing
    assert float(temporal_correlation_loss(s, pos)) < 1e-10
    assert float(temporal_correlation_loss(torch.randn(16, 7), pos)) > 0.1


def test_training_walks_step_to_near_neighbours_and_never_straight_back():
    rng = np.random.default_rng(0)
    xy = np.stack(np.meshgrid(np.arange(20.0), np.arange(20.0)), -1).reshape(-1, 2)
    walks = neighbour_walk_sampler(xy, neighbours=8)(rng, 16, 12)
    steps = np.linalg.norm(np.diff(xy[walks], axis=1), axis=-1)
    assert walks.shape == (16, 12) and steps.max() <= np.sqrt(8) + 1e-9 and steps.min() > 0
    assert not np.any(walks[:, 2:] == walks[:, :-2])


def test_the_trackers_size_does_not_depend_on_the_bs_array():
    small, large = cpu_config(), cpu_config(bs_rows=20, bs_cols=20)
    n_small, n_large = parameter_count(LatentTracker(small)), parameter_count(LatentTracker(large))
    e2e_small, e2e_large = parameter_count(EndToEndTracker(small)), parameter_count(EndToEndTracker(large))
    paper = parameter_count(LatentTracker(ChannelEstimationConfig()))
    print(f"tracker parameters: {n_small} at 10x10, {n_large} at 20x20 (paper sizes: {paper}); end-to-end "
          f"{e2e_small} -> {e2e_large}")
    assert n_small == n_large
    assert parameter_count(LatentTracker(ChannelEstimationConfig(bs_rows=20, bs_cols=20))) == paper
    assert e2e_large > 2 * e2e_small


def _street_canyon_channels(config, seed: int, num_static: int, walk_steps: int):
    """A 4x4 BS and a 2x2 UE in a hand-made street canyon at the centre subcarrier: (H of ``num_static`` static
    positions, those positions (num_static, 3), H along a smooth walk of ``walk_steps`` steps of 0.5 m)."""
    from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid
    from radiomap_assets.domain.geometric_csi import smooth_walk, street_canyon

    rng = np.random.default_rng(seed)
    area = (40.0, -10.0, 60.0, 10.0)
    env = street_canyon(rng, area)
    ofdm = OfdmGrid(config.carrier_frequency_hz, config.bandwidth_hz, config.num_subcarriers)
    bs, ue = ArrayGeometry(4, 4), ArrayGeometry(2, 2)
    static = np.c_[rng.uniform(area[0], area[2], num_static), rng.uniform(area[1], area[3], num_static),
                   np.full(num_static, 1.5)]
    k = ofdm.centre_subcarrier
    H_static = env.channel(static, bs, ue, ofdm, ue_yaw_deg=180.0)[..., k]
    H_walk = env.channel(smooth_walk(rng, walk_steps, 0.5, area), bs, ue, ofdm, ue_yaw_deg=180.0)[..., k]
    return H_static, static, H_walk


def test_the_proposed_tracker_beats_ls_when_pilots_are_few():
    """A 4x4 BS and 2x2 UE (64 unknowns) sounded with 16 pilots along a walk in a street canyon: LS keeps a quarter
    of the channel (about -1.2 dB); the autoencoder + tracker, trained on 500 static samples, does much better."""
    from models.channel_estimation.experiment import run

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same numbers on any machine
    config = cpu_config(bs_rows=4, bs_cols=4, pilots_bs=4, pilots_ue=4, num_subcarriers=4, representation="real_imag",
                        encoder_widths=(128, 64), decoder_widths=(64, 128), latent_dim=16, lstm_layers=2,
                        mlp_width=64, ae_steps=800, tracker_steps=600, seq_len=12, tracker_batch_size=32)
    H_static, static, H_walk = _street_canyon_channels(config, seed=0, num_static=500, walk_steps=40)
    try:
        result = run(config, H_static, static, H_walk, methods=("ls", "proposed"))
    finally:
        torch.set_num_threads(threads)
    db = result.nmse_db()
    print(f"LS {db['ls']:.1f} dB, proposed {db['proposed']:.1f} dB, SNR {result.snr_db:.0f} dB")
    assert db["ls"] > -3.0
    assert db["proposed"] < db["ls"] - 3.0


def test_pilot_design_is_fixed_by_its_seed():
    a, b = pilot_design(16, 4, 6, 4, seed=5), pilot_design(16, 4, 6, 4, seed=5)
    assert isinstance(a, PilotDesign) and np.array_equal(a.W, b.W) and np.array_equal(a.G, b.G)
    assert cpu_config(bs_rows=20).num_bs_antennas == 200


def test_a_saved_estimator_loads_and_estimates_the_same(tmp_path):
    from models.channel_estimation.autoencoder import ChannelAutoencoder
    from models.channel_estimation.persistence import ChannelEstimator, load_estimator, save_estimator
    from models.channel_estimation.pilots import ChannelScale

    torch.manual_seed(0)
    config = cpu_config(bs_rows=4, bs_cols=4, pilots_bs=4, latent_dim=8, encoder_widths=(32,), decoder_widths=(32,))
    estimator = ChannelEstimator(config, ChannelScale(1e-5, 1e-3), ChannelAutoencoder(config), LatentTracker(config))
    estimator.autoencoder.eval()
    estimator.tracker.eval()
    H = _complex_normal(np.random.default_rng(0), (6, 16, 4)) * 1e-5
    Y = np.sqrt(10 ** ((config.tx_power_dbm - 30) / 10)) * estimator.pilots().observe(H)  # volts, eq. (1)
    save_estimator(estimator, tmp_path)
    loaded = load_estimator(tmp_path)
    assert loaded.config == config and loaded.scale == estimator.scale
    np.testing.assert_allclose(loaded.estimate(Y), estimator.estimate(Y), rtol=1e-6)
    assert loaded.estimate(Y).shape == (6, 16, 4)


def test_a_trained_estimator_stands_in_for_the_proposed_training_of_the_experiment():
    """``experiment.train_estimator`` trains what ``run`` trains as "proposed" (the Dagster layer registers the one
    and hands it to the other through ``trained``): the same NMSE along the walk either way."""
    from models.channel_estimation.experiment import run, train_estimator

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = cpu_config(bs_rows=4, bs_cols=4, pilots_bs=4, pilots_ue=2, num_subcarriers=4, representation="real_imag",
                        encoder_widths=(32,), decoder_widths=(32,), latent_dim=8, lstm_layers=1, lstm_hidden=16,
                        mlp_width=16, ae_steps=30, tracker_steps=30, seq_len=6, tracker_batch_size=8)
    H_static, static, H_walk = _street_canyon_channels(config, seed=1, num_static=80, walk_steps=10)
    try:
        estimator, fits = train_estimator(config, H_static, static)
        given = run(config, H_static, static, H_walk, methods=("proposed",), trained={"proposed": estimator},
                    log=lambda *a: None)
        trained = run(config, H_static, static, H_walk, methods=("proposed",), log=lambda *a: None)
    finally:
        torch.set_num_threads(threads)
    assert fits["autoencoder"].steps_done == 30 and fits["tracker"].steps_done == 30
    np.testing.assert_allclose(given.nmse["proposed"], trained.nmse["proposed"], rtol=1e-4)
    assert given.parameters == trained.parameters


def test_the_label_free_chart_keeps_line_of_sight_users_next_to_their_neighbours():
    """The angular chart of the label-free L_TC variant: for line-of-sight users below a rooftop 8x8 BS, each
    sample's strongest direction is its true direction (within the oversampled grid), and the chart keeps
    neighbours on the ground neighbours (trustworthiness and continuity of the chart against the true positions)."""
    from models.channel_estimation.charting import angular_chart
    from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid
    from radiomap_assets.domain.geometric_csi import local_direction_cosines, los_channel
    from radiomap_assets.domain.metrics import trustworthiness_continuity

    rng = np.random.default_rng(5)
    bs = np.array([0.0, 0.0, 25.0])
    users = np.c_[rng.uniform(20, 80, 300), rng.uniform(-30, 30, 300), np.full(300, 1.5)]
    ofdm = OfdmGrid(3.5e9, 10e6, 4)
    H = los_channel(bs, users, ArrayGeometry(8, 8), ArrayGeometry(2, 2), ofdm)[..., ofdm.centre_subcarrier]
    chart = angular_chart(H, 8, 8, oversampling=4)
    k = (users - bs) / np.linalg.norm(users - bs, axis=1, keepdims=True)
    u, v = local_direction_cosines(k, 0.0)
    assert np.abs(chart - np.c_[u, v]).max() <= 2.0 / 32 + 1e-9  # one step of the 4x oversampled grid
    scores = trustworthiness_continuity(users[:, :2], chart, k=15)
    assert scores["trustworthiness"] > 0.9 and scores["continuity"] > 0.9, scores


def test_a_run_chooses_arrays_and_methods_within_the_profile_and_names_what_it_lacks():
    from radiomap_assets.assets.channel_estimation import ChannelEstimationRunConfig
    from radiomap_assets.jobs import CHANNEL_ESTIMATION_HEADLINE
    from radiomap_assets.profiles import get_profile

    section = get_profile("default", "san_francisco").channel_estimation
    assert ChannelEstimationRunConfig().sides(section) == section.bs_sides  # empty: everything
    headline = ChannelEstimationRunConfig(**CHANNEL_ESTIMATION_HEADLINE)
    assert headline.sides(section) == (10,) and "proposed_lmmse" in headline.chosen_methods(section)
    assert headline.sides(get_profile("smoke", "san_francisco").channel_estimation) == (4,)
    with pytest.raises(ValueError, match=r"arrays \[12\] are not in the profile's bs_sides"):
        ChannelEstimationRunConfig(arrays=[12]).sides(section)
    with pytest.raises(ValueError, match="methods \\['magic'\\]"):
        ChannelEstimationRunConfig(methods=["magic"]).chosen_methods(section)
