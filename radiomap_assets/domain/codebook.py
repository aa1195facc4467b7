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


# --- the 2-D DFT codebook of a uniform rectangular array (URA), the indoor hall's 2 x 4 arrays (issue 12) ----------
#
# Element order is Sionna RT's PlanarArray order: column-major, n = c * rows + r, with column c at +c lambda/2 along
# the array's horizontal axis and row r = 0 at the top (height (rows - 1 - r) lambda/2). Beam j = jv * |W_h| + jh
# points at the horizontal direction cosine u_jh (beam_direction_cosines(|W_h|)) and the vertical direction cosine
# v_jv = sin(elevation) (beam_direction_cosines(|W_v|)); for a direction at azimuth phi and elevation theta from
# the boresight, u = sin(phi) cos(theta) and v = sin(theta). With rows = 1 and |W_v| = 1 this is dft_codebook.


def planar_steering_vector(u: np.ndarray | float, v: np.ndarray | float, rows: int, cols: int) -> np.ndarray:
    """a(u, v) of a half-wavelength rows x cols URA in Sionna's element order, shape (..., rows * cols)."""
    horizontal = steering_vector(u, cols)  # (..., cols): column c at +c lambda/2
    vertical = steering_vector(v, rows)[..., ::-1]  # (..., rows): row r at height (rows - 1 - r) lambda/2
    out = horizontal[..., :, None] * vertical[..., None, :]  # (..., cols, rows)
    return out.reshape(out.shape[:-2] + (rows * cols,))  # n = c * rows + r


def planar_beam_directions(beams_vertical: int, beams_horizontal: int) -> np.ndarray:
    """(u_j, v_j) of every beam j = jv * |W_h| + jh of the 2-D DFT codebook, shape (|W|, 2)."""
    u = beam_direction_cosines(beams_horizontal)
    v = beam_direction_cosines(beams_vertical) if beams_vertical > 1 else np.zeros(1)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    return np.stack([uu.ravel(), vv.ravel()], axis=1)


def planar_dft_codebook(rows: int, cols: int, beams_vertical: int | None = None,
                        beams_horizontal: int | None = None) -> np.ndarray:
    """W of a rows x cols URA as (|W|, rows * cols), |W| = beams_vertical * beams_horizontal (default rows x cols:
    orthogonal beams); row j is the unit-norm w_j = conj(a(u_j, v_j)) / sqrt(N) (eq. (2))."""
    beams_vertical = rows if beams_vertical is None else beams_vertical
    beams_horizontal = cols if beams_horizontal is None else beams_horizontal
    if min(rows, cols, beams_vertical, beams_horizontal) < 1:
        raise ValueError(f"array {rows}x{cols} and codebook {beams_vertical}x{beams_horizontal} must be >= 1")
    if rows == 1 and beams_vertical > 1:
        raise ValueError("a single-row array cannot steer vertically: use beams_vertical = 1")
    uv = planar_beam_directions(beams_vertical, beams_horizontal)
    return np.conj(planar_steering_vector(uv[:, 0], uv[:, 1], rows, cols)) / np.sqrt(rows * cols)


def planar_beam_angles_deg(beams_vertical: int, beams_horizontal: int) -> tuple[np.ndarray, np.ndarray]:
    """(steering azimuth from the boresight, elevation) of every beam in degrees, each (|W|,): elevation =
    arcsin(v_j), azimuth = arcsin(u_j / cos(elevation)) (clipped where the beam lies outside the visible region)."""
    return beam_angles_deg(planar_beam_directions(beams_vertical, beams_horizontal))


def beam_angles_deg(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(azimuth from the boresight, elevation) in degrees of beams at direction cosines uv (|W|, 2)."""
    uv = np.asarray(uv, dtype=np.float64)
    elevation = np.arcsin(np.clip(uv[:, 1], -1.0, 1.0))
    azimuth = np.arcsin(np.clip(uv[:, 0] / np.maximum(np.cos(elevation), 1e-9), -1.0, 1.0))
    return np.degrees(azimuth), np.degrees(elevation)


# --- codebooks a campaign declares (issue 14): what each beam points at, whatever the codebook's form -------------
#
# "dft" and "dft_2d" above; "steering_angles": an explicit azimuth (from the boresight) and optional elevation per
# beam, in degrees; "weights": an explicit complex weight matrix, one row w_j of N = num_antennas per beam (real and
# imag parts as lists), on a half-wavelength array of array_rows x array_cols (default 1 x N, a ULA). A weight
# vector's direction is where its beam pattern |a(u, v)^T w_j| peaks, searched on the horizontal plane (v = 0) and,
# for a planar array, over elevation too (a 0.005 grid of direction cosines).

def directions_of_weights(weights: np.ndarray, rows: int, cols: int, resolution: float = 0.005) -> np.ndarray:
    """(u_j, v_j) where each beam's pattern peaks: weights (|W|, rows * cols) complex -> (|W|, 2)."""
    w = np.asarray(weights, dtype=np.complex128)
    u = np.arange(-1.0, 1.0 + resolution / 2, resolution)
    v = np.arange(-1.0, 1.0 + resolution / 2, resolution) if rows > 1 else np.zeros(1)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    inside = uu ** 2 + vv ** 2 <= 1.0  # the visible region
    a = planar_steering_vector(uu[inside], vv[inside], rows, cols)  # (D, N)
    best = np.argmax(np.abs(a @ w.T), axis=0)  # (|W|,)
    return np.stack([uu[inside][best], vv[inside][best]], axis=1)


def array_shape(codebook: dict, num_antennas: int) -> tuple[int, int]:
    """(rows, cols) of the arrays a manifest codebook is for: what a dft_2d or weights codebook says, else 1 x N."""
    return int(codebook.get("array_rows", 1)), int(codebook.get("array_cols", num_antennas))


def codebook_beam_directions(codebook: dict, num_antennas: int) -> np.ndarray:
    """(u_j, v_j) of every beam of a manifest's codebook entry (domain.campaign.CODEBOOK_TYPES), shape (|W|, 2)."""
    kind, n_w = codebook["type"], int(codebook["num_beams"])
    if kind == "dft":
        return planar_beam_directions(1, n_w)
    if kind == "dft_2d":
        return planar_beam_directions(int(codebook["beams_vertical"]), int(codebook["beams_horizontal"]))
    if kind == "steering_angles":
        az = np.radians(np.asarray(codebook["azimuth_deg"], dtype=np.float64))
        el = np.radians(np.asarray(codebook.get("elevation_deg", np.zeros(n_w)), dtype=np.float64))
        return np.stack([np.sin(az) * np.cos(el), np.sin(el)], axis=1)
    if kind == "weights":
        w = np.asarray(codebook["real"], dtype=np.float64) + 1j * np.asarray(codebook["imag"], dtype=np.float64)
        return directions_of_weights(w, *array_shape(codebook, num_antennas))
    raise ValueError(f"unknown codebook type {kind!r}")
