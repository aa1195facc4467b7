"""The pilot model of eq. (1) (numpy): the UE sends M_U pilot symbols s_i through precoders f_i, the BS records each
M_B times through combiners w_j, Y = W^H H F S + N (M_B x M_U), G = F S.

Our choices where the paper is silent (section II-A fixes only the single-RF-chain analog architecture):

- W (N_B x M_B): analog combiners, unit-modulus phases / sqrt(N_B) drawn once (||w_j|| = 1); F (N_U x M_U): the
  columns of the N_U-point DFT (unit norm) when M_U <= N_U, else random phases; S: unit-modulus QPSK symbols. All
  fixed by ``pilot_seed`` (section V-D: fixed in training and inference).
- Power: every symbol is sent with the transmit power P (||f_i s_i|| = 1, amplitude sqrt(P)); N is circularly
  symmetric Gaussian with the noise power sigma^2 per received sample. The estimators work in *channel units*:
  Y / (sqrt(P) c) = W^H (H / c) G + N / (sqrt(P) c), with c a fixed channel scale (``ChannelScale``), so that the
  networks see numbers of order one; NMSE does not depend on c.
- vec is column-wise (eq. (2)): vec(W^H H G) = (G^T kron W^H) vec(H) = M vec(H), M of size M_B M_U x N_B N_U.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def dbm_to_watt(dbm: float) -> float:
    return 10.0 ** ((dbm - 30.0) / 10.0)


@dataclass(frozen=True)
class PilotDesign:
    W: np.ndarray  # (N_B, M_B) complex combiners
    G: np.ndarray  # (N_U, M_U) complex, F S

    @property
    def num_observations(self) -> int:
        return self.W.shape[1] * self.G.shape[1]

    def measurement_matrix(self) -> np.ndarray:
        """M = G^T kron W^H of eq. (2): (M_B M_U, N_B N_U)."""
        return np.kron(self.G.T, self.W.conj().T)

    def observe(self, H: np.ndarray) -> np.ndarray:
        """W^H H G for H (..., N_B, N_U) -> (..., M_B, M_U), noise-free."""
        return np.einsum("bm,...bu,un->...mn", self.W.conj(), H, self.G)


def pilot_design(num_bs: int, num_ue: int, pilots_bs: int, pilots_ue: int, seed: int) -> PilotDesign:
    rng = np.random.default_rng(seed)
    W = np.exp(2j * np.pi * rng.uniform(size=(num_bs, pilots_bs))) / np.sqrt(num_bs)
    if pilots_ue <= num_ue:
        F = np.exp(-2j * np.pi * np.outer(np.arange(num_ue), np.arange(pilots_ue)) / num_ue) / np.sqrt(num_ue)
    else:
        F = np.exp(2j * np.pi * rng.uniform(size=(num_ue, pilots_ue))) / np.sqrt(num_ue)
    s = np.exp(1j * np.pi / 4 * (2 * rng.integers(0, 4, pilots_ue) + 1))  # QPSK
    return PilotDesign(W, F * s[None, :])


def vec(H: np.ndarray) -> np.ndarray:
    """Column-wise vec of the last two dims: (..., N_B, N_U) -> (..., N_B N_U)."""
    H = np.asarray(H)
    return np.swapaxes(H, -1, -2).reshape(H.shape[:-2] + (-1,))


def unvec(h: np.ndarray, num_bs: int, num_ue: int) -> np.ndarray:
    """ivec: (..., N_B N_U) -> (..., N_B, N_U)."""
    h = np.asarray(h)
    return np.swapaxes(h.reshape(h.shape[:-1] + (num_ue, num_bs)), -1, -2)


@dataclass(frozen=True)
class ChannelScale:
    """The fixed scale c (RMS |H| of a training set) and the noise variance in channel units."""

    scale: float
    noise_variance: float  # sigma^2 / (P c^2)

    @classmethod
    def fit(cls, H_train: np.ndarray, tx_power_dbm: float, noise_power_dbm: float) -> "ChannelScale":
        c = float(np.sqrt(np.mean(np.abs(H_train) ** 2)))
        return cls(c, dbm_to_watt(noise_power_dbm) / (dbm_to_watt(tx_power_dbm) * c * c))

    def volts_per_unit(self, tx_power_dbm: float) -> float:
        """Received volts per channel unit: Y_volts = Y_channel_units * sqrt(P) * c (eq. (1) in channel units)."""
        return float(np.sqrt(dbm_to_watt(tx_power_dbm)) * self.scale)

    def snr_db(self) -> float:
        """Mean received SNR per antenna pair in channel units: 1 / noise_variance."""
        return float(-10.0 * np.log10(self.noise_variance))


def received_pilots(H: np.ndarray, design: PilotDesign, noise_variance: float, rng: np.random.Generator
                    ) -> np.ndarray:
    """Eq. (1) in channel units: Y = W^H H G + N, N ~ CN(0, noise_variance). H (..., N_B, N_U) -> (..., M_B, M_U)."""
    clean = design.observe(H)
    noise = rng.standard_normal(clean.shape + (2,)) @ np.array([1.0, 1j]) * np.sqrt(noise_variance / 2)
    return clean + noise
