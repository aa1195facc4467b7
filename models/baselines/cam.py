"""CAM-aided CSI tracking (ref. [30] of the paper), the beam-tracking baseline of Fig. 12.

A channel angle map (CAM) stores, per grid cell and base station, the angle of departure toward that cell; in the
DFT codebook an angle is a beam index. At run time the base station sounds ``M = N_t / 2`` beams centred on the
angle the CAM gives for the estimated location, estimates each sounded beam's channel coefficient by least squares
(one pilot per beam: y_j = h w_j + n_j, so the LS estimate is y_j itself) and serves the strongest estimate.

Choices where the paper is silent (documented here, used by the evaluation):
- The CAM is built from the campaign's own sparse CSI at the *estimated* positions (no labels): per (cell, base
  station) the beam with the highest mean observed power; cells without observations take the nearest such cell's.
- The pilots see the link's own SNR: with the SNR of section IV-E defined on the mean channel power P_ref,
  n_j ~ CN(0, P_ref / snr), so at low SNR the sounding picks wrong beams, which is where CAM loses capacity.
- Beam indices are circular (the DFT directions tile u in [-1, 1), and u = -1 and u = 1 are one direction).
"""

from __future__ import annotations

import numpy as np

from radiomap_assets.domain.beam_layout import BeamLayout


def channel_angle_map(cells: np.ndarray, g: np.ndarray, m: np.ndarray, cell_centres_m: np.ndarray,
                      beams_per_bs: int) -> np.ndarray:
    """Best beam per (cell, base station) from observed CSI at assigned cells: cells (L,), g, m (L, N) -> (K, N_b)."""
    from radiomap_assets.domain.measurement import radio_map_from_positions

    k_cells = len(cell_centres_m)
    layout = BeamLayout.from_entries(g.shape[1], beams_per_bs)
    mean, _ = radio_map_from_positions([cells], [g], [m], k_cells)  # (K, N), NaN where never observed
    mean = layout.per_bs(np.nan_to_num(mean, nan=-np.inf))  # (K, N_b, |W|)
    best = mean.argmax(axis=-1)  # (K, N_b)
    known = np.isfinite(mean.max(axis=-1))  # (K, N_b)
    for b in range(best.shape[1]):
        if known[:, b].any() and not known[:, b].all():
            src = np.nonzero(known[:, b])[0]
            dst = np.nonzero(~known[:, b])[0]
            d = np.linalg.norm(cell_centres_m[dst, None] - cell_centres_m[None, src], axis=-1)
            best[dst, b] = best[src[d.argmin(axis=1)], b]
    return best


def sounded_beams(centre_beam: np.ndarray, num_beams: int, num_sounded: int) -> np.ndarray:
    """The ``num_sounded`` beams nearest (circularly) to each centre beam: (L,) -> (L, num_sounded)."""
    offsets = np.arange(num_sounded) - (num_sounded - 1) // 2
    return (np.asarray(centre_beam)[:, None] + offsets[None, :]) % num_beams


def cam_beam_choice(true_power_mw: np.ndarray, serving_bs: np.ndarray, cam_beam: np.ndarray, num_sounded: int,
                    snr_db: float, reference_power_mw: float, rng: np.random.Generator) -> np.ndarray:
    """Beam served at every sample: sound ``num_sounded`` beams around the CAM's beam with one pilot each at the
    link SNR, serve the largest LS estimate |y_j|^2. true_power_mw (L, N_b, |W|) = E|h w_j|^2 -> (L,) beam index."""
    l_idx = np.arange(len(true_power_mw))
    beams = sounded_beams(cam_beam, true_power_mw.shape[-1], num_sounded)  # (L, S)
    gain = true_power_mw[l_idx[:, None], serving_bs[:, None], beams] / reference_power_mw * 10 ** (snr_db / 10)
    noise = (rng.normal(size=gain.shape) + 1j * rng.normal(size=gain.shape)) / np.sqrt(2)  # CN(0, 1) per pilot
    estimate = np.abs(np.sqrt(gain) + noise) ** 2  # |y_j|^2 in units of the noise power
    return beams[l_idx, estimate.argmax(axis=1)]
