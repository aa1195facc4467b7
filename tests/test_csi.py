"""The complex-CSI contract (issue 13): the Zarr store round-trips complex64 H, the hand-made line of sight matches
the textbook formula, and Sionna RT's CSI of a free-space line of sight matches it (graph tier: ray tracing)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid, csi_dataset, open_csi, validate_csi, write_csi
from radiomap_assets.domain.geometric_csi import (SPEED_OF_LIGHT_MPS, geometric_channel, los_channel, smooth_walk,
                                                  street_canyon)

OFDM = OfdmGrid(3.5e9, 10e6, 8)
BS, UE = ArrayGeometry(3, 4), ArrayGeometry(2, 2)


def _dataset(n=5, seed=0):
    rng = np.random.default_rng(seed)
    H = (rng.normal(size=(n, BS.num_antennas, UE.num_antennas, OFDM.num_subcarriers))
         + 1j * rng.normal(size=(n, BS.num_antennas, UE.num_antennas, OFDM.num_subcarriers))) * 1e-5
    pos = rng.uniform(-50, 50, (n, 3))
    return csi_dataset(H, pos, BS, UE, OFDM, site="test_site", source="geometric", t_s=np.arange(n) * 0.1,
                       trajectory_id=np.array(["walk_0"] * n), bs_position=(0.0, 0.0, 25.0), bs_yaw_deg=10.0)


def test_the_zarr_contract_round_trips_complex_csi(tmp_path):
    ds = _dataset()
    path = write_csi(ds, tmp_path / "csi.zarr")
    back = open_csi(path)
    assert back.H.dtype == np.complex64 and back.H.dims == ("sample", "bs_antenna", "ue_antenna", "subcarrier")
    np.testing.assert_array_equal(back.H.values, ds.H.values)
    for name in ("x", "y", "z", "t_s", "frequency_offset_hz", "bs_antenna_row", "ue_antenna_col"):
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert list(back.trajectory_id.values) == ["walk_0"] * 5
    for key in ("carrier_frequency_hz", "bandwidth_hz", "subcarrier_spacing_hz", "bs_array_rows", "ue_array_cols",
                "site", "Conventions"):
        assert back.attrs[key] == ds.attrs[key]
    # an analyst with plain xarray: float32 with a (real, imag) dim, units and long names on every variable
    raw = xr.open_zarr(path)
    assert raw.H.dtype == np.float32 and raw.H.dims[-1] == "complex"
    assert list(raw.complex.values) == ["real", "imag"]
    h = raw.H.sel(complex="real").values + 1j * raw.H.sel(complex="imag").values
    np.testing.assert_array_equal(h.astype(np.complex64), ds.H.values)
    assert all("long_name" in raw[v].attrs for v in ("H", "x", "t_s", "frequency_offset_hz"))
    with pytest.raises(FileExistsError):
        write_csi(ds, path)


def test_the_contract_rejects_what_breaks_it():
    ds = _dataset()
    with pytest.raises(ValueError, match="complex"):
        validate_csi(ds.assign(H=ds.H.real))
    with pytest.raises(ValueError, match="attributes"):
        validate_csi(ds.drop_attrs())
    with pytest.raises(ValueError, match="does not match"):
        csi_dataset(np.zeros((2, 5, 4, 8), complex), np.zeros((2, 3)), BS, UE, OFDM, "s", "geometric")


def test_the_subcarriers_are_sionnas():
    assert list(OfdmGrid(3.5e9, 8.0, 8).frequency_offsets_hz()) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert list(OfdmGrid(3.5e9, 5.0, 5).frequency_offsets_hz()) == [-2, -1, 0, 1, 2]
    assert OfdmGrid(3.5e9, 8.0, 8).centre_subcarrier == 4


def _element_positions(array: ArrayGeometry, yaw_deg: float, wavelength: float) -> np.ndarray:
    """Element n = c * rows + r at ((c - (C-1)/2) e_y - (r - (R-1)/2) e_z) lambda / 2, written out by hand."""
    yaw = np.radians(yaw_deg)
    e_y, e_z = np.array([-np.sin(yaw), np.cos(yaw), 0.0]), np.array([0.0, 0.0, 1.0])
    out = []
    for n in range(array.num_antennas):
        r, c = n % array.rows, n // array.rows
        out.append(((c - (array.cols - 1) / 2) * e_y - (r - (array.rows - 1) / 2) * e_z) * wavelength / 2)
    return np.array(out)


def test_the_line_of_sight_is_the_textbook_plane_wave():
    """H[b, u, k] = lambda / (4 pi d) exp(-j 2 pi (f_c + f_k) d / c) exp(j 2 pi / lambda k_B . r_b) exp(j 2 pi /
    lambda k_U . r_u), element positions and directions by hand."""
    bs_pos, ue_pos, bs_yaw, ue_yaw = np.array([0.0, 0.0, 25.0]), np.array([[60.0, 10.0, 1.5]]), 20.0, 170.0
    H = los_channel(bs_pos, ue_pos, BS, UE, OFDM, bs_yaw, ue_yaw, normalize_delays=False)[0]
    lam = SPEED_OF_LIGHT_MPS / OFDM.carrier_frequency_hz
    d = np.linalg.norm(ue_pos[0] - bs_pos)
    k = (ue_pos[0] - bs_pos) / d
    f = OFDM.carrier_frequency_hz + OFDM.frequency_offsets_hz()
    a_b = np.exp(2j * np.pi / lam * _element_positions(BS, bs_yaw, lam) @ k)
    a_u = np.exp(2j * np.pi / lam * _element_positions(UE, ue_yaw, lam) @ -k)
    expected = lam / (4 * np.pi * d) * np.exp(-2j * np.pi * f * d / SPEED_OF_LIGHT_MPS)
    np.testing.assert_allclose(H, a_b[:, None, None] * a_u[None, :, None] * expected[None, None], rtol=1e-9)
    # normalized delays drop the common delay: a flat response with the same array phases
    Hn = los_channel(bs_pos, ue_pos, BS, UE, OFDM, bs_yaw, ue_yaw)[0]
    np.testing.assert_allclose(Hn, (lam / (4 * np.pi * d) * a_b[:, None] * a_u[None])[..., None]
                               * np.ones(OFDM.num_subcarriers), rtol=1e-9)


def test_geometric_paths_add_up_and_the_walk_stays_inside():
    rng = np.random.default_rng(1)
    area = (40.0, -15.0, 70.0, 15.0)
    env = street_canyon(rng, area)
    walk = smooth_walk(rng, 200, 0.5, area)
    assert np.all((walk[:, 0] >= area[0] - 0.5) & (walk[:, 0] <= area[2] + 0.5))
    np.testing.assert_allclose(np.linalg.norm(np.diff(walk[:, :2], axis=0), axis=1), 0.5)
    gains, delays, k_bs, k_ue = env.paths(walk[:3], OFDM.carrier_frequency_hz)
    H = env.channel(walk[:3], BS, UE, OFDM)
    per_path = sum(geometric_channel(gains[:, [l]], delays[:, [l]], k_bs[:, [l]], k_ue[:, [l]], BS, UE, OFDM,
                                     normalize_delays=False) for l in range(gains.shape[1]))
    shift = np.exp(2j * np.pi * (OFDM.carrier_frequency_hz + OFDM.frequency_offsets_hz()) * delays.min(axis=1)[:, None])
    np.testing.assert_allclose(H, per_path * shift[:, None, None, :], rtol=1e-7, atol=1e-12)
    assert np.all(delays[:, 1:] > delays[:, :1])  # the line of sight arrives first


@pytest.mark.graph
def test_sionna_line_of_sight_csi_matches_the_hand_made_channel():
    """Sionna RT (PathSolver, Paths.cfr) in free space, LOS only: the per-antenna CSI is los_channel's, absolute
    phases included (float32 delays: 1e-3 relative), and exactly with normalized delays. About 2 s."""
    from radiomap_assets.domain.raytrace_csi import load_csi_scene, trace_csi

    bs_pos, ue = (0.0, 0.0, 25.0), np.array([[60.0, 10.0, 1.5], [80.0, -25.0, 3.0], [-30.0, 40.0, 10.0]])
    ue_yaw = np.array([180.0, 150.0, -40.0])
    scene = load_csi_scene(None, OFDM.carrier_frequency_hz)
    for normalize, tol in ((False, 2e-3), (True, 1e-5)):
        H = trace_csi(scene, bs_pos, BS, ue, UE, OFDM, bs_yaw_deg=20.0, ue_yaw_deg=ue_yaw, max_depth=0,
                      normalize_delays=normalize)
        expected = los_channel(bs_pos, ue, BS, UE, OFDM, 20.0, ue_yaw, normalize_delays=normalize)
        assert np.abs(H - expected).max() <= tol * np.abs(expected).max()


def test_measured_csi_lands_and_a_broken_store_is_quarantined_with_its_reasons(tmp_path):
    """The landing path for measured complex CSI: a store of the contract renamed into landing_csi/<id>.zarr is
    picked up by the sensor, accepted under csi/<site>/measured/; one with NaN values and an unknown site is
    quarantined with both reasons; a stray file and a second copy of an accepted id are quarantined at the scan."""
    from dagster import DagsterInstance, build_sensor_context

    from radiomap_assets.sensors import csi_landing_sensor
    from radiomap_assets.sites import site_names
    from resources import LandingZone

    zone = LandingZone(root=str(tmp_path))
    landing = tmp_path / "landing_csi"
    good = _dataset().assign_attrs(site="san_francisco", source="measured")
    broken = _dataset(seed=1)
    broken["H"].values[2, 0, 0, 0] = np.nan
    write_csi(good, landing / "sf-walk-1.zarr")
    write_csi(broken, landing / "unknown-walk.zarr")
    (landing / "notes.txt").write_text("not a store")

    with DagsterInstance.ephemeral() as instance:
        result = csi_landing_sensor(build_sensor_context(instance=instance, resources={"landing_zone": zone}))
        assert sorted(r.partition_key for r in result.run_requests) == ["sf-walk-1", "unknown-walk"]
        assert sorted(result.dynamic_partitions_requests[0].partition_keys) == ["sf-walk-1", "unknown-walk"]
    quarantine = tmp_path / "quarantine"
    assert any(p.name.startswith("notes.txt__") for p in quarantine.iterdir())

    accepted = zone.accept_csi("sf-walk-1", tuple(site_names()))
    assert accepted == tmp_path / "csi" / "san_francisco" / "measured" / "sf-walk-1.zarr"
    np.testing.assert_array_equal(open_csi(accepted).H.values, good.H.values)
    assert zone.accept_csi("sf-walk-1", tuple(site_names())) == accepted  # accepted once, read back after
    with pytest.raises(ValueError) as err:
        zone.accept_csi("unknown-walk", tuple(site_names()))
    assert "unknown site 'test_site'" in str(err.value) and "NaN" in str(err.value)
    held = next(p for p in quarantine.iterdir() if p.name.startswith("unknown-walk.zarr__"))
    assert "unknown site" in (held / "REASON.txt").read_text()
    assert not (landing / "unknown-walk.zarr").exists()

    write_csi(good, landing / "sf-walk-1.zarr")  # the same id again: a duplicate, the accepted one untouched
    new, quarantined = zone.scan_csi(known=set())
    assert new == [] and quarantined[0][0] == "sf-walk-1" and "already accepted" in quarantined[0][1]
    assert accepted.exists()
