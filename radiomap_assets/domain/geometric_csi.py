"""Complex CSI by hand (numpy): the far-field multipath channel of seed 003's eq. (4) per subcarrier, the line of
sight as its one-path case, and a small synthetic environment (reflecting walls) whose paths drift smoothly as a
user walks. The ray tracer's CSI (``domain.raytrace_csi``) is checked against ``los_channel``.

Conventions (Sionna RT's, so that the two agree entry by entry):

- an array's local frame has its boresight along local +x, its columns along local +y and its rows along local
  +z (row 0 on top); the frame is the scene frame turned by ``yaw_deg`` about z (no tilt);
- element n = c * rows + r sits at r_n = ((c - (cols - 1) / 2) e_y - (r - (rows - 1) / 2) e_z) lambda / 2, relative
  to the array centre; the response toward the unit vector k (pointing from the array to where the path leaves or
  comes from) is a_n(k) = exp(j 2 pi / lambda k . r_n): ``domain.codebook.planar_steering_vector`` at
  u = k . e_y, v = k . e_z, times the phase that moves its reference element to the centre;
- path l has a coefficient g_l (complex, the propagation phase not included) and a delay tau_l; the uplink channel
  at subcarrier k (baseband f_k) is H[b, u, k] = sum_l g_l exp(-j 2 pi (f_c + f_k) tau_l) a_B,b(k_B,l) a_U,u(k_U,l)
  (eq. (4) with Sionna's array convention; uplink and downlink are transposes of each other by reciprocity).
  ``normalize_delays`` (Sionna's ``cfr`` default) first subtracts the earliest delay of each sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomap_assets.domain.codebook import planar_steering_vector
from radiomap_assets.domain.csi import ArrayGeometry, OfdmGrid

SPEED_OF_LIGHT_MPS = 299_792_458.0


def wavelength_m(carrier_frequency_hz: float) -> float:
    return SPEED_OF_LIGHT_MPS / carrier_frequency_hz


def local_direction_cosines(direction: np.ndarray, yaw_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) = (k . e_y, k . e_z) of unit vectors ``direction`` (..., 3) in the frame of an array turned by
    ``yaw_deg`` about z: its columns run along e_y = (-sin yaw, cos yaw, 0)."""
    yaw = np.radians(np.asarray(yaw_deg, dtype=np.float64))
    k = np.asarray(direction, dtype=np.float64)
    return -np.sin(yaw) * k[..., 0] + np.cos(yaw) * k[..., 1], k[..., 2]


def array_response(direction: np.ndarray, array: ArrayGeometry, yaw_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """a(k) of a half-wavelength UPA, centre-referenced, Sionna's element order: (..., 3) -> (..., N)."""
    u, v = local_direction_cosines(direction, yaw_deg)
    a = planar_steering_vector(u, v, array.rows, array.cols)  # reference: column 0, bottom row
    centre = np.exp(-1j * np.pi * (u * (array.cols - 1) + v * (array.rows - 1)) / 2)  # move it to the centre
    return a * centre[..., None]


def geometric_channel(gains: np.ndarray, delays_s: np.ndarray, bs_directions: np.ndarray, ue_directions: np.ndarray,
                      bs_array: ArrayGeometry, ue_array: ArrayGeometry, ofdm: OfdmGrid, bs_yaw_deg: float = 0.0,
                      ue_yaw_deg: np.ndarray | float = 0.0, normalize_delays: bool = True) -> np.ndarray:
    """Eq. (4) per subcarrier. gains (S, L) complex, delays_s (S, L) (NaN: no path), bs_directions / ue_directions
    (S, L, 3) unit vectors from each array toward the path's far end -> H (S, N_B, N_U, K) complex128."""
    gains = np.asarray(gains, dtype=np.complex128)
    tau = np.asarray(delays_s, dtype=np.float64)
    valid = np.isfinite(tau)
    if normalize_delays:
        tau = tau - np.nanmin(np.where(valid, tau, np.nan), axis=1, keepdims=True)
    tau = np.where(valid, tau, 0.0)
    g = np.where(valid, gains, 0.0)
    ue_yaw = np.broadcast_to(np.asarray(ue_yaw_deg, np.float64), tau.shape[:1])[:, None]
    a_b = array_response(bs_directions, bs_array, bs_yaw_deg)  # (S, L, N_B)
    a_u = array_response(ue_directions, ue_array, ue_yaw)  # (S, L, N_U)
    f = ofdm.carrier_frequency_hz + ofdm.frequency_offsets_hz()  # (K,)
    phase = g[..., None] * np.exp(-2j * np.pi * tau[..., None] * f)  # (S, L, K)
    return np.einsum("slb,slu,slk->sbuk", a_b, a_u, phase)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(d, 1e-12), d[..., 0]


def los_channel(bs_position: np.ndarray, ue_positions: np.ndarray, bs_array: ArrayGeometry, ue_array: ArrayGeometry,
                ofdm: OfdmGrid, bs_yaw_deg: float = 0.0, ue_yaw_deg: np.ndarray | float = 0.0,
                normalize_delays: bool = True) -> np.ndarray:
    """The free-space line of sight between isotropic, co-polarized arrays: one path of amplitude lambda / (4 pi d)
    and delay d / c, leaving the BS toward the user and the user toward the BS. (S, 3) -> H (S, N_B, N_U, K)."""
    ue = np.asarray(ue_positions, dtype=np.float64).reshape(-1, 3)
    k_b, d = _unit(ue - np.asarray(bs_position, dtype=np.float64)[None])
    gain = wavelength_m(ofdm.carrier_frequency_hz) / (4 * np.pi * d)
    return geometric_channel(gain[:, None], (d / SPEED_OF_LIGHT_MPS)[:, None], k_b[:, None], -k_b[:, None],
                             bs_array, ue_array, ofdm, bs_yaw_deg, ue_yaw_deg, normalize_delays)


@dataclass(frozen=True)
class WallEnvironment:
    """A base station, the line of sight and single specular reflections off infinite planes (a street canyon's
    walls and the ground), by the image method: the synthetic stand-in for a ray-traced site, whose path angles at
    both ends, delays and gains change smoothly as the user moves. A wall is (axis, coordinate): the plane
    x = c (axis 0), y = c (1) or z = c (2). The path off wall w has length |p' - b| (p' the user's image), gain
    reflection[w] lambda / (4 pi |p' - b|) and delay |p' - b| / c; ``los_gain`` scales the line of sight."""

    bs_position: tuple[float, float, float]
    bs_yaw_deg: float
    walls: tuple[tuple[int, float], ...]
    reflection: np.ndarray  # (W,) complex
    los_gain: float = 1.0

    def paths(self, ue_positions: np.ndarray, carrier_frequency_hz: float):
        """(gains (S, L), delays (S, L), BS directions (S, L, 3), UE directions (S, L, 3)), L = 1 + W."""
        ue = np.asarray(ue_positions, dtype=np.float64).reshape(-1, 3)
        bs = np.asarray(self.bs_position, dtype=np.float64)
        lam = wavelength_m(carrier_frequency_hz)
        k_bs, k_ue, length = [], [], []
        for axis, c in [(None, 0.0)] + list(self.walls):
            image = ue.copy()
            if axis is not None:
                image[:, axis] = 2 * c - ue[:, axis]
            k, d = _unit(image - bs[None])  # leaves the BS toward the image
            if axis is None:
                arrive = -k
            else:  # arrives from the reflection point: the image's direction mirrored back
                arrive = -k.copy()
                arrive[:, axis] = k[:, axis]
            k_bs.append(k)
            k_ue.append(arrive)
            length.append(d)
        length = np.stack(length, axis=1)
        coeff = np.concatenate([[self.los_gain], np.asarray(self.reflection, complex)])
        gains = coeff[None] * lam / (4 * np.pi * length)
        return gains, length / SPEED_OF_LIGHT_MPS, np.stack(k_bs, axis=1), np.stack(k_ue, axis=1)

    def channel(self, ue_positions: np.ndarray, bs_array: ArrayGeometry, ue_array: ArrayGeometry, ofdm: OfdmGrid,
                ue_yaw_deg: np.ndarray | float = 0.0, normalize_delays: bool = True) -> np.ndarray:
        """H (S, N_B, N_U, K) at ``ue_positions`` (S, 3)."""
        gains, delays, k_bs, k_ue = self.paths(ue_positions, ofdm.carrier_frequency_hz)
        return geometric_channel(gains, delays, k_bs, k_ue, bs_array, ue_array, ofdm, self.bs_yaw_deg, ue_yaw_deg,
                                 normalize_delays)


def street_canyon(rng: np.random.Generator, area_m: tuple[float, float, float, float] = (40.0, -15.0, 70.0, 15.0),
                  bs_height_m: float = 25.0) -> WallEnvironment:
    """A base station at (0, 0, ``bs_height_m``) looking along +x over the user ``area_m`` (x_min, y_min, x_max,
    y_max): walls 3-10 m beside the area on both sides, one 10-40 m beyond it and the ground, with reflection
    amplitudes 0.3-0.7 and random phases."""
    x0, y0, x1, y1 = area_m
    walls = ((1, y0 - rng.uniform(3, 10)), (1, y1 + rng.uniform(3, 10)), (0, x1 + rng.uniform(10, 40)), (2, 0.0))
    refl = rng.uniform(0.3, 0.7, len(walls)) * np.exp(2j * np.pi * rng.uniform(size=len(walls)))
    return WallEnvironment((0.0, 0.0, bs_height_m), 0.0, walls, refl)


def smooth_walk(rng: np.random.Generator, steps: int, step_m: float, area_m: tuple[float, float, float, float],
                height_m: float = 1.5, turn_std_rad: float = 0.05) -> np.ndarray:
    """A walk of ``steps`` positions (steps, 3) ``step_m`` apart inside ``area_m`` whose heading drifts by
    N(0, turn_std_rad^2) per step and turns back at the area's edges."""
    x0, y0, x1, y1 = area_m
    p = np.array([rng.uniform(x0 + 0.25 * (x1 - x0), x1 - 0.25 * (x1 - x0)),
                  rng.uniform(y0 + 0.25 * (y1 - y0), y1 - 0.25 * (y1 - y0))])
    heading = rng.uniform(0, 2 * np.pi)
    out = np.empty((steps, 3))
    for t in range(steps):
        out[t] = (p[0], p[1], height_m)
        heading += rng.normal(0.0, turn_std_rad)
        nxt = p + step_m * np.array([np.cos(heading), np.sin(heading)])
        if not (x0 <= nxt[0] <= x1 and y0 <= nxt[1] <= y1):  # turn toward the area's centre
            heading = np.arctan2((y0 + y1) / 2 - p[1], (x0 + x1) / 2 - p[0]) + rng.normal(0.0, 0.3)
            nxt = p + step_m * np.array([np.cos(heading), np.sin(heading)])
        p = nxt
    return out
