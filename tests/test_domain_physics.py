"""Codebook, grid, measurement model and coarse localization on small hand-checkable cases."""

import numpy as np
import pandas as pd
import pytest

from radiomap_assets.domain.codebook import beam_direction_cosines, beam_gains, dft_codebook, steering_vector
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.localization import coarse_location_problem, noisy_ground_truth, weighted_centroid
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
    assert normalize_power(NOISE_FLOOR_DBM - 10) < 0.0  # affine, never clipped (issue 14)


def test_the_normalization_keeps_order_and_differences_from_minus_210_to_plus_10_dbm():
    """Issue 14: no saturation at either end: powers a real campaign may hold keep their order and their
    differences through g and back."""
    power = np.array([-210.0, -150.0, -120.0, -119.5, -60.0, -20.0, 0.0, 10.0])
    g = normalize_power(power)
    assert (np.diff(g) > 0).all()
    np.testing.assert_allclose(np.diff(g) * DYNAMIC_RANGE_DB, np.diff(power))
    rows = pd.DataFrame({"trajectory_id": ["a"] * len(power), "t_s": np.arange(len(power)) * 0.1,
                         "bs_id": np.zeros(len(power), np.int64), "beam_id": np.zeros(len(power), np.int64),
                         "power_dbm": power.astype(np.float32)})
    csi = masked_sparse_csi(rows, bs_ids=[0], num_beams=4)
    np.testing.assert_allclose(csi.power_dbm()[:, 0, 0], power, atol=1e-4)


def test_long_format_round_trip_keeps_every_observation():
    rng = np.random.default_rng(1)
    power = rng.uniform(-110, -40, (50, 3, 8))
    mask = rng.random((50, 3, 8)) < 0.3
    df = measurements_long_format("t0", np.arange(50) * 0.1, power, mask, [4, 5, 6])
    assert len(df) == mask.sum()
    csi = masked_sparse_csi(df, [4, 5, 6], 8)
    np.testing.assert_array_equal(csi.m, mask.reshape(50, -1))


def test_weighted_centroid_is_pulled_toward_the_strongest_base_station():
    bs = np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 90.0]])
    equal = np.full((1, 3, 4), np.nan)
    equal[0, :, 0] = -60.0
    np.testing.assert_allclose(weighted_centroid(equal, bs), [[50.0, 30.0]])
    strong_first = equal.copy()
    strong_first[0, 0, 2] = -40.0  # 20 dB stronger at bs 0 -> weight 10x with exponent 2
    np.testing.assert_allclose(weighted_centroid(strong_first, bs), [[150.0 / 12.0, 90.0 / 12.0]])


def test_a_sample_hearing_fewer_than_three_positioned_base_stations_never_sits_on_one():
    """Issue 14: a centroid of one base station is that base station; such samples take the estimate of the
    nearest sample of their trajectory that heard three (NaN when none did)."""
    bs = np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 90.0], [np.nan, np.nan]])  # bs 3: position unknown
    power = np.full((4, 4, 2), np.nan)
    power[0, :3, 0] = -60.0
    power[1, 1, 0] = -50.0  # only bs 1
    power[2, [1, 3], 0] = -50.0  # bs 1 and the unpositioned bs 3
    power[3, :, 0] = -60.0  # all four: bs 3 does not count
    est = weighted_centroid(power, bs, np.array(["a", "a", "a", "b"]))
    np.testing.assert_allclose(est[[1, 2]], est[[0, 0]])
    np.testing.assert_allclose(est[3], [50.0, 30.0])
    assert not (np.linalg.norm(est[:, None, :] - bs[None, :3], axis=2) < 1e-6).any()
    alone = weighted_centroid(power[1:2], bs, np.array(["c"]))
    assert np.isnan(alone).all()


def test_base_stations_that_cannot_locate_anyone_are_named_with_the_reason():
    assert coarse_location_problem(np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 90.0]])) is None
    two = coarse_location_problem(np.array([[0.0, 0.0], [100.0, 0.0], [np.nan, np.nan]]))
    assert two.startswith("2 of 3 base stations have a known position")
    line = coarse_location_problem(np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]]))
    assert "one line" in line
    assert np.isnan(weighted_centroid(np.full((2, 3, 1), -60.0), np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))).all()


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
    with pytest.raises(ValueError, match="known sites: indoor_hall, san_francisco"):
        get_site("atlantis")
    with pytest.raises(ValueError, match="known sites"):
        get_profile("default", "atlantis")
    assert get_profile("default").scene.site == "san_francisco"
    default = SionnaScene(run_profile=RunProfile(name="default"))
    smoke = SionnaScene(run_profile=RunProfile(name="smoke"))
    assert default.region_m == sf.region_m and smoke.region_m == (-150.0, -150.0, 150.0, 150.0)
    assert smoke.model_grid().resolution_m == sf.grid_resolution_m


def test_the_2d_dft_codebook_of_a_ura_is_orthogonal_and_each_beam_steers_at_its_direction():
    """The indoor hall's 2 x 4 arrays: 8 orthogonal unit-norm beams; beam j = jv * 4 + jh peaks at (u_jh, v_jv);
    with one row it is the ULA's codebook."""
    from radiomap_assets.domain.codebook import (planar_beam_angles_deg, planar_beam_directions, planar_dft_codebook,
                                                 planar_steering_vector)

    w = planar_dft_codebook(2, 4)
    assert w.shape == (8, 8)
    np.testing.assert_allclose(w @ w.conj().T, np.eye(8), atol=1e-12)
    uv = planar_beam_directions(2, 4)
    np.testing.assert_allclose(uv[:4, 1], -0.5) and np.testing.assert_allclose(uv[4:, 1], 0.5)
    np.testing.assert_allclose(uv[:4, 0], [-0.75, -0.25, 0.25, 0.75])
    gains = beam_gains(planar_steering_vector(uv[:, 0], uv[:, 1], 2, 4), w)  # (direction, beam)
    assert (gains.argmax(axis=1) == np.arange(8)).all()
    np.testing.assert_allclose(np.diag(gains), 8.0)  # the full array gain at the beam's own direction
    # a user 30 degrees left of the boresight and level with the array: the horizontal beams either side of u = 0.5,
    # the two vertical beams (+-30 degrees) alike
    g = beam_gains(planar_steering_vector(np.sin(np.radians(30.0)), 0.0, 2, 4), w)
    assert set(np.flatnonzero(np.isclose(g, g.max()))) == {2, 3, 6, 7}
    azimuth, elevation = planar_beam_angles_deg(2, 4)
    np.testing.assert_allclose(elevation, np.repeat([-30.0, 30.0], 4))
    np.testing.assert_allclose(np.sin(np.radians(azimuth)) * np.cos(np.radians(elevation)), uv[:, 0])
    np.testing.assert_allclose(planar_dft_codebook(1, 16), dft_codebook(16, 16))  # one row: the ULA's


def test_the_indoor_hall_is_a_site_of_data_with_the_papers_facts():
    """Section IV-C: four 2 x 4 arrays at 1.272 GHz, the robot at 0.94 m in an L-shaped area, a 0.5 m grid, the
    indoor loss weights and 25 m^2 coarse noise; its profile simulates robot trajectories."""
    from radiomap_assets.profiles import get_profile
    from radiomap_assets.sites import get_site

    hall = get_site("indoor_hall")
    assert (hall.num_base_stations, hall.array_shape, hall.num_beams, hall.carrier_frequency_hz) == (4, (2, 4), 8,
                                                                                                     1.272e9)
    assert hall.ue_height_m == 0.94 and hall.grid_resolution_m == 0.5 and hall.coarse_noise_variance_m2 == 25.0
    assert hall.loss_weights == "paper_indoor" and hall.codebook().shape == (8, 8)
    assert hall.codebook_manifest() == {"type": "dft_2d", "num_beams": 8, "array_rows": 2, "array_cols": 4,
                                        "beams_vertical": 2, "beams_horizontal": 4}
    x = np.arange(-12.25, 8.5, 0.5)
    y = np.arange(-8.25, 9.5, 0.5)
    area = hall.walkable_mask(x, y)
    assert area.sum() * 0.25 == 160.0  # the L: 20 m x 5 m and 5 m x 12 m
    assert not area[np.searchsorted(y, 5.0), np.searchsorted(x, -5.0)]  # the L's missing corner
    for bs in hall.base_stations:  # transmitters stand outside the L
        assert not hall.walkable_mask(np.array([bs.x_m]), np.array([bs.y_m]))[0, 0]
    prof = get_profile("default", "indoor_hall")
    assert prof.site == "indoor_hall" and prof.campaign.kinds == ("random",) and prof.campaign.speed_mps == 0.5
    assert get_profile("default").site == "san_francisco"


def test_the_hall_scene_is_written_by_code_as_ply_meshes_and_a_mitsuba_xml(tmp_path):
    """No download: the hall's XML names a concrete floor (the geometry survey finds it by name), a metal roof,
    walls, machines and shelving, each a closed mesh in a PLY file."""
    import xml.etree.ElementTree as ET

    from radiomap_assets.sites import indoor_hall

    xml = indoor_hall.build_scene(tmp_path)
    root = ET.parse(xml).getroot()
    shapes = {s.get("id"): s for s in root.iter("shape")}
    assert {"mesh-floor", "mesh-ceiling", "mesh-wall_north", "mesh-machine_1", "mesh-shelving_1"} <= set(shapes)
    materials = {b.get("id"): b.find("string").get("value") for b in root.iter("bsdf")}
    assert materials == {"itu_concrete": "concrete", "itu_metal": "metal"}
    for sid, shape in shapes.items():
        ply = (tmp_path / shape.find("string").get("value")).read_bytes()
        header = ply[: ply.index(b"end_header")].decode()
        assert "binary_little_endian" in header and "element face" in header, sid
    for _, _, v, f in indoor_hall.hall_meshes():  # every face of a box points outward
        if len(v) == 8:
            centre = v.mean(axis=0)
            tri = v[f]
            normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            assert ((normal * (tri.mean(axis=1) - centre)).sum(axis=1) > 0).all()
