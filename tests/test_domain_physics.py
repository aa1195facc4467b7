"""Codebook, grid, measurement model and coarse localization on small hand-checkable cases."""

import numpy as np
import pandas as pd
import pytest

from radiomap_assets.domain.codebook import beam_direction_cosines, beam_gains, dft_codebook, steering_vector
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.localization import noisy_ground_truth, weighted_centroid
from radiomap_assets.domain.measurement import (DYNAMIC_RANGE_DB, masked_sparse_csi, measurements_long_format,
                                                normalize_power, synthesize_measurements)
from radiomap_assets.domain.raytrace import NOISE_FLOOR_DBM


def test_dft_codebook_is_unitary_and_each_beam_peaks_at_its_direction():
    w = dft_codebook(16, 16)
    assert w.shape == (16, 16)
    np.testing.assert_allclose(w @ w.conj().T, np.eye(16), atol=1e-12)  # unit norm (eq. (2)), orthogonal beams
    u = beam_direction_cosines(16)
    gains = beam_gains(steering_vector(u, 16), w)  # (direction, beam)
    assert (gains.argmax(axis=1) == np.arange(16)).all()
    np.testing.assert_allclose(np.diag(gains), 16.0)  # full array gain N at the beam's own direction


def test_grid_maps_points_to_the_cell_whose_centre_is_nearest():
    g = Grid.covering((-10.0, 0.0, 10.0, 15.0), 5.0)
    assert g.shape == (3, 4)
    centres = g.cell_centres()
    iy, ix = g.cell_index(centres + 1.0)
    assert (iy * g.nx + ix == np.arange(g.nx * g.ny)).all()
    assert Grid.from_coords(g.x_centres, g.y_centres) == g


def test_measurement_model_observes_m_beams_per_base_station_with_noise():
    rng = np.random.default_rng(0)
    expected = np.full((2000, 5, 16), -70.0)
    noisy, mask = synthesize_measurements(expected, observed_beams_per_bs=3, noise_std_db=2.0, rng=rng)
    assert (mask.sum(axis=2) == 3).all()
    resid = (noisy - expected)[mask]
    assert abs(resid.mean()) < 0.05 and abs(resid.std() - 2.0) < 0.05
    low, _ = synthesize_measurements(np.full((10, 1, 4), -500.0), 4, 1.0, rng)
    assert (low == NOISE_FLOOR_DBM).all()  # clipped at the noise floor
    with pytest.raises(ValueError):
        synthesize_measurements(expected, observed_beams_per_bs=17, noise_std_db=1.0, rng=rng)


def test_masked_sparse_csi_places_each_observation_at_bs_times_beams_plus_beam():
    rows = pd.DataFrame({"trajectory_id": ["a", "a", "a", "b"], "t_s": [0.0, 0.0, 0.1, 0.0],
                         "bs_id": [10, 20, 20, 10], "beam_id": [3, 0, 15, 1],
                         "power_dbm": np.array([-20.0, -120.0, -70.0, -95.0], np.float32)})
    csi = masked_sparse_csi(rows, bs_ids=[10, 20], num_beams=16)
    assert csi.g.shape == (3, 32) and list(csi.trajectory_id) == ["a", "a", "b"]
    assert csi.m.sum() == 4 and csi.m[0, 3] and csi.m[0, 16] and csi.m[1, 31] and csi.m[2, 1]
    assert csi.g[0, 3] == pytest.approx(1.0) and csi.g[0, 16] == pytest.approx(0.0)
    assert csi.g[1, 31] == pytest.approx(50.0 / DYNAMIC_RANGE_DB)
    assert (csi.g[~csi.m] == 0).all()
    np.testing.assert_allclose(csi.power_dbm()[1, 1, 15], -70.0, atol=1e-4)
    assert normalize_power(NOISE_FLOOR_DBM - 10) == 0.0


def test_long_format_round_trip_keeps_every_observation():
    rng = np.random.default_rng(1)
    power = rng.uniform(-110, -40, (50, 3, 8))
    mask = rng.random((50, 3, 8)) < 0.3
    df = measurements_long_format("t0", np.arange(50) * 0.1, power, mask, [4, 5, 6])
    assert len(df) == mask.sum()
    csi = masked_sparse_csi(df, [4, 5, 6], 8)
    np.testing.assert_array_equal(csi.m, mask.reshape(50, -1))


def test_weighted_centroid_is_pulled_toward_the_strongest_base_station():
    bs = np.array([[0.0, 0.0], [100.0, 0.0]])
    equal = np.full((1, 2, 4), np.nan)
    equal[0, :, 0] = -60.0
    np.testing.assert_allclose(weighted_centroid(equal, bs), [[50.0, 0.0]])
    strong_first = equal.copy()
    strong_first[0, 0, 2] = -40.0  # 20 dB stronger at bs 0 -> weight 10x with exponent 2
    np.testing.assert_allclose(weighted_centroid(strong_first, bs), [[100.0 / 11.0, 0.0]])
    nothing = np.full((2, 2, 4), np.nan)
    nothing[0, 1, 0] = -50.0
    est = weighted_centroid(nothing, bs, np.array(["a", "a"]))
    np.testing.assert_allclose(est[1], est[0])  # a sample without observation repeats the previous estimate


def test_paper_noisy_ground_truth_has_the_requested_variance():
    xy = np.zeros((20000, 2))
    noisy = noisy_ground_truth(xy, 400.0, seed=3)
    assert abs(noisy.var(axis=0) - 400.0).max() < 15.0


def test_beam_layout_is_the_one_entry_rule_the_measurement_model_and_the_model_share():
    import torch

    from models.beam_map.feature_extractor import CSIFeatureExtractor
    from radiomap_assets.domain.beam_layout import BeamLayout

    layout = BeamLayout(3, 4)
    assert layout.num_entries == 12
    assert layout.entry(2, 1) == 9  # k = b·|W| + j
    b, j = layout.bs_and_beam(np.arange(12))
    assert (layout.entry(b, j) == np.arange(12)).all()
    with pytest.raises(ValueError, match="beam outside"):
        layout.entry(0, 4)
    with pytest.raises(ValueError, match="not a whole number"):
        BeamLayout.from_entries(10, 4)
    x = np.arange(2 * 12).reshape(2, 12)
    assert layout.per_bs(x)[1, 2, 3] == x[1, layout.entry(2, 3)]
    np.testing.assert_array_equal(layout.flat(layout.per_bs(x)), x)
    assert tuple(layout.per_bs(torch.zeros(5, 12, 7), axis=1).shape) == (5, 3, 4, 7)  # torch alike
    # a row of base station id 20 (position 1 of [10, 20, 30]), beam 2 lands in entry 1·4 + 2 of g and m
    rows = pd.DataFrame({"trajectory_id": ["a"], "t_s": [0.0], "bs_id": [20], "beam_id": [2], "power_dbm": [-50.0]})
    csi = masked_sparse_csi(rows, [10, 20, 30], 4)
    assert np.nonzero(csi.m[0])[0].tolist() == [layout.entry(1, 2)]
    assert np.isfinite(csi.power_dbm()[0, 1, 2]) and np.isnan(csi.power_dbm()[0]).sum() == 11
    assert CSIFeatureExtractor(12, 4, 8, 2, 1, 16).layout == layout


def test_a_site_is_data_and_an_unknown_site_is_refused_with_the_known_ones():
    """San Francisco as the paper's section IV-A describes it; the profile picks the site, the scene resource reads
    the site's facts and the profile's crop."""
    import pytest

    from radiomap_assets.profiles import get_profile
    from radiomap_assets.sites import get_site
    from resources import RunProfile, SionnaScene

    sf = get_site("san_francisco")
    assert (sf.num_base_stations, sf.num_antennas, sf.num_beams, sf.carrier_frequency_hz) == (5, 16, 16, 2.8e9)
    assert sf.grid_resolution_m == 5.0 and sf.coarse_noise_variance_m2 == 400.0
    assert sf.region_m[2] - sf.region_m[0] == 710.0 and sf.region_m[3] - sf.region_m[1] == 740.0  # 710 m x 740 m
    with pytest.raises(ValueError, match="known sites: san_francisco"):
        get_site("atlantis")
    assert get_profile("default").scene.site == "san_francisco"
    default = SionnaScene(run_profile=RunProfile(name="default"))
    smoke = SionnaScene(run_profile=RunProfile(name="smoke"))
    assert default.region_m == sf.region_m and smoke.region_m == (-150.0, -150.0, 150.0, 150.0)
    assert smoke.model_grid().resolution_m == sf.grid_resolution_m
