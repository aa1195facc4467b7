"""Per-antenna complex CSI from Sionna RT 2.2 (issue 13): the channel frequency responses between a base station's
planar array and a user's planar array at a list of user positions, with ``PathSolver`` and ``Paths.cfr``.

How Sionna is driven (on the CPU, Dr.Jit LLVM, as ``domain.raytrace``):

- the BS is the scene's one ``Transmitter`` (``scene.tx_array`` = its rows x cols half-wavelength array of
  isotropic, vertically polarized elements) and the users are ``Receiver`` objects (``scene.rx_array`` = theirs),
  traced in batches of ``batch_size`` receivers per ``PathSolver`` call;
- ``synthetic_array=True``: paths are traced between the array centres and each element gets the plane-wave phase
  exp(j 2 pi / lambda k . r_n) (far field, the model of eq. (4)); ``domain.geometric_csi.array_response`` is the
  same expression;
- ``Paths.cfr(frequencies, normalize_delays, out_type="numpy")`` returns [num_rx, num_rx_ant, num_tx, num_tx_ant,
  num_time_steps, num_frequencies] at the baseband ``frequencies`` (``OfdmGrid.frequency_offsets_hz``, the same
  as Sionna's ``subcarrier_frequencies``); the downlink response is transposed into the contract's uplink H
  (sample, bs_antenna, ue_antenna, subcarrier) by reciprocity;
- ``normalize_delays=True`` (Sionna's default) removes each link's earliest delay, its carrier phase included, so
  that H does not spin with the user's distance at the carrier (lambda = 8.6 cm at 3.5 GHz); False keeps the
  absolute phases (the LOS check compares those).

Sionna, Mitsuba and Dr.Jit are imported lazily.
"""

from __future__ import annotations

import math

import numpy as np

from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid
from radiomap_assets.domain.raytrace import SceneGeometry, _mitsuba, load_scene


def planar_array(array: ArrayGeometry):
    """Sionna's half-wavelength PlanarArray of isotropic, vertically polarized elements."""
    _mitsuba()
    import sionna.rt as rt

    return rt.PlanarArray(num_rows=int(array.rows), num_cols=int(array.cols), vertical_spacing=0.5,
                          horizontal_spacing=0.5, pattern="iso", polarization="V")


def load_csi_scene(name: str | None, carrier_frequency_hz: float):
    """A Sionna scene at the carrier: a bundled scene name or an XML path, loaded as ``domain.raytrace.load_scene``
    does (its ground kept apart for the geometry survey), or None for an empty scene (free space)."""
    if name is not None:
        return load_scene(name, carrier_frequency_hz, (1, 1))
    _mitsuba()
    import sionna.rt as rt

    scene = rt.load_scene()
    scene.frequency = carrier_frequency_hz
    return scene


def user_heights(geometry: SceneGeometry, xy: np.ndarray, ue_height_m: float) -> np.ndarray:
    """z of users at ``xy`` (P, 2): the ground of the nearest grid cell plus ``ue_height_m``."""
    iy, ix = geometry.grid.cell_index(np.asarray(xy, dtype=np.float64))
    return geometry.ground_z[iy, ix] + ue_height_m


def static_positions(geometry: SceneGeometry, count: int, ue_height_m: float, rng: np.random.Generator
                     ) -> np.ndarray:
    """A static position set (paper section IV-B's H): ``count`` users uniformly over the walkable cells (a random
    point of a random walkable cell), (count, 3) scene metres."""
    iy, ix = np.nonzero(geometry.walkable & np.isfinite(geometry.ground_z))
    if len(iy) == 0:
        raise ValueError("no walkable cell to put users on")
    pick = rng.integers(0, len(iy), count)
    r = geometry.grid.resolution_m
    xy = np.stack([geometry.grid.x_centres[ix[pick]], geometry.grid.y_centres[iy[pick]]], 1)
    xy += rng.uniform(-r / 2, r / 2, xy.shape)
    return np.c_[xy, geometry.ground_z[iy[pick], ix[pick]] + ue_height_m]


def yaw_toward(positions: np.ndarray, target: tuple[float, float, float]) -> np.ndarray:
    """Azimuth (degrees, counterclockwise from +x) from each position (P, 3) toward ``target``: users face the BS."""
    d = np.asarray(target, dtype=np.float64)[None, :2] - np.asarray(positions, dtype=np.float64)[:, :2]
    return np.degrees(np.arctan2(d[:, 1], d[:, 0]))


def trace_csi(scene, bs_position: tuple[float, float, float], bs_array: ArrayGeometry, ue_positions: np.ndarray,
              ue_array: ArrayGeometry, ofdm: OfdmGrid, bs_yaw_deg: float = 0.0, ue_yaw_deg: np.ndarray | float = 0.0,
              max_depth: int = 3, samples_per_src: int = 100_000, diffraction: bool = False,
              normalize_delays: bool = True, batch_size: int = 64, seed: int = 0) -> np.ndarray:
    """Uplink H (S, N_B, N_U, K) complex64 from ``scene`` (its frequency is set to the carrier) for users at
    ``ue_positions`` (S, 3) scene metres; both arrays face their ``yaw`` (counterclockwise from +x, degrees).
    A position no path reaches gets H = 0. The scene's transmitters and receivers are replaced."""
    mi = _mitsuba()
    import sionna.rt as rt

    ue = np.asarray(ue_positions, dtype=np.float64).reshape(-1, 3)
    yaw_u = np.broadcast_to(np.asarray(ue_yaw_deg, np.float64), (len(ue),))
    scene.frequency = ofdm.carrier_frequency_hz
    scene.tx_array = planar_array(bs_array)
    scene.rx_array = planar_array(ue_array)
    frequencies = mi.Float(ofdm.frequency_offsets_hz().astype(np.float32))
    solver = rt.PathSolver()
    out = np.zeros((len(ue), bs_array.num_antennas, ue_array.num_antennas, ofdm.num_subcarriers), np.complex64)

    def clear():
        for name in list(scene.transmitters) + list(scene.receivers):
            scene.remove(name)

    clear()
    try:
        scene.add(rt.Transmitter(name="bs", position=mi.Point3f(*map(float, bs_position)),
                                 orientation=mi.Point3f(math.radians(bs_yaw_deg), 0.0, 0.0)))
        for start in range(0, len(ue), batch_size):
            stop = min(start + batch_size, len(ue))
            for i in range(start, stop):
                scene.add(rt.Receiver(name=f"ue{i}", position=mi.Point3f(*map(float, ue[i])),
                                      orientation=mi.Point3f(math.radians(float(yaw_u[i])), 0.0, 0.0)))
            paths = solver(scene, max_depth=int(max_depth), samples_per_src=int(samples_per_src),
                           synthetic_array=True, diffraction=bool(diffraction), seed=int(seed))
            h = np.asarray(paths.cfr(frequencies=frequencies, normalize_delays=normalize_delays, out_type="numpy"))
            # [rx = users, rx_ant = UE antennas, tx = 1, tx_ant = BS antennas, time = 1, K] -> (S, N_B, N_U, K)
            out[start:stop] = np.transpose(h[:, :, 0, :, 0, :], (0, 2, 1, 3))
            for i in range(start, stop):
                scene.remove(f"ue{i}")
    finally:
        clear()
    return out


def walk_positions(geometry: SceneGeometry, steps: int, step_m: float, ue_height_m: float, rng: np.random.Generator
                   ) -> np.ndarray:
    """A user walking along the streets (``domain.trajectories.uniform_trajectory`` at 1 m/s), one position per
    ``step_m`` (one coherence interval): (steps, 3) scene metres (fewer if the street graph is shorter)."""
    from radiomap_assets.domain.trajectories import StreetGraph, uniform_trajectory

    walk = uniform_trajectory(StreetGraph(geometry.grid, geometry.walkable), steps * step_m, 1.0 / step_m, rng,
                              "walk", speed_mps=1.0)
    xy = walk.xy[:steps]
    return np.c_[xy, user_heights(geometry, xy, ue_height_m)]


def reached(H: np.ndarray) -> np.ndarray:
    """(S,) True where some path reaches the user (H of a position no path reaches is 0)."""
    return np.abs(H).reshape(len(H), -1).max(axis=1) > 0
