"""Label-free positions for L_TC (ours, issue 13): where the paper's charting loss (eq. (8)) and the tracker's
training walks use the users' true positions, this variant uses an angular chart computed from the channels alone.

Per static sample, the BS array's spatial spectrum over an oversampled grid of direction cosines (the OMP
dictionary of ``classical.angular_dictionary``), summed over the UE antennas; the chart coordinate is the strongest
direction (u, v) = (sin(azimuth) cos(elevation), sin(elevation)) from the array's boresight. For a rooftop BS two
users near each other see it in nearly the same direction (the elevation carries the range), so neighbours in the
chart are mostly neighbours on the ground; behind buildings the strongest path is a reflection and the chart folds.
L_TC standardizes its squared distances (eq. (10)) and the walks use nearest neighbours, so the chart's units (none)
do not matter. No position, label or time enters."""

from __future__ import annotations

import numpy as np

from models.channel_estimation.classical import angular_dictionary
from radiomap_assets.domain.codebook import planar_beam_directions


def angular_chart(H: np.ndarray, bs_rows: int, bs_cols: int, oversampling: int = 4) -> np.ndarray:
    """H (N, N_B, N_U) complex at one subcarrier -> (N, 2) direction cosines (u, v) of each sample's strongest
    direction at the BS array (rows x cols, ``domain.codebook`` conventions)."""
    A = angular_dictionary(bs_rows, bs_cols, oversampling)  # (N_B, G) unit-norm array responses
    grid_v = oversampling * bs_rows if bs_rows > 1 else 1
    uv = planar_beam_directions(grid_v, oversampling * bs_cols)  # (G, 2), the dictionary's column order
    spectrum = (np.abs(np.einsum("bg,nbu->ngu", A.conj(), H)) ** 2).sum(axis=2)  # (N, G)
    return uv[spectrum.argmax(axis=1)]
