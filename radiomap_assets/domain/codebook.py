"""The DFT beamforming codebook W of section II-A and the ULA steering vector of eq. (1).

Convention (shared with Sionna RT, whose precoding is a transpose product h^T w): element n of an N-element
half-wavelength ULA sits at n * lambda/2 along the array axis; the steering vector toward direction cosine
u = sin(phi) is a(u)[n] = exp(j pi n u). Beam j of the DFT codebook points at u_j = -1 + (2 j + 1) / |W|
(the |W| directions tile [-1, 1) evenly) with w_j = conj(a(u_j)) / sqrt(N), so ||w_j|| = 1 as eq. (2) requires.
"""

from __future__ import annotations

import numpy as np


def beam_direction_cosines(num_beams: int) -> np.ndarray:
    """u_j = sin(phi_j) of every beam, shape (|W|,)."""
    if num_beams < 1:
        raise ValueError(f"num_beams must be >= 1, got {num_beams}")
    return -1.0 + (2.0 * np.arange(num_beams) + 1.0) / num_beams


def steering_vector(direction_cosine: np.ndarray | float, num_antennas: int) -> np.ndarray:
    """a(u) for a half-wavelength ULA, eq. (1). Shape (..., N)."""
    u = np.asarray(direction_cosine, dtype=np.float64)[..., None]
    return np.exp(1j * np.pi * np.arange(num_antennas) * u)


def dft_codebook(num_antennas: int, num_beams: int | None = None) -> np.ndarray:
    """W as a complex array of shape (|W|, N); row j is the unit-norm beamforming vector w_j."""
    num_beams = num_antennas if num_beams is None else num_beams
    if num_antennas < 1:
        raise ValueError(f"num_antennas must be >= 1, got {num_antennas}")
    a = steering_vector(beam_direction_cosines(num_beams), num_antennas)  # (|W|, N)
    return np.conj(a) / np.sqrt(num_antennas)


def beam_gains(channel: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """|h w_j|^2 for every beam: channel (..., N) complex, codebook (|W|, N) -> (..., |W|)."""
    return np.abs(np.asarray(channel) @ codebook.T) ** 2


def beam_steering_deg(num_beams: int) -> np.ndarray:
    """Steering angle of every beam from the array boresight in the horizontal plane, arcsin(u_j) in degrees,
    positive counterclockwise seen from above (toward the array's element axis, element n at +n lambda/2), shape
    (|W|,). A horizontal ULA of isotropic elements radiates the same beam mirrored about its axis too
    (180 - angle): these are the front-half-plane directions."""
    return np.degrees(np.arcsin(beam_direction_cosines(num_beams)))


def beam_azimuth_deg(yaw_deg: np.ndarray | float, num_beams: int) -> np.ndarray:
    """Azimuth of every beam of arrays with boresight azimuth ``yaw_deg`` (counterclockwise from +x), in the same
    convention, wrapped to [-180, 180): shape (..., |W|)."""
    az = np.asarray(yaw_deg, dtype=np.float64)[..., None] + beam_steering_deg(num_beams)
    return (az + 180.0) % 360.0 - 180.0
