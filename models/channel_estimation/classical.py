"""The estimators that need no network (numpy), and NMSE.

- LS, eqs. (2)-(3): vec(H_LS) = M^+ vec(Y), the minimum-norm solution when M_B M_U < N_B N_U (the paper's LS).
- LMMSE (ours, the paper has none): vec(H) ~ (mu, R) with the sample mean and covariance of a training set,
  vec(H_hat) = mu + R M^H (M R M^H + sigma^2 I)^-1 (vec(Y) - M mu).
- LMMSE with a prior estimate (ours, the declared variant ``proposed_lmmse``): the proposed tracker's estimate is
  a second observation of H, with the error covariance it had on training walks times a scale kappa that the
  likelihood of the sequence's observations chooses (no label read); see ``PriorLmmse``.
- OMP in the angular domain (ours; section II-C names compressed sensing [10]): H = A_B X A_U^T with A_B, A_U the
  array responses on a grid of direction cosines (``omp_oversampling`` points per antenna and dimension,
  ``domain.codebook.planar_dft_codebook``), vec(H) = (A_U kron A_B) vec(X); greedy atoms until the residual
  reaches the noise level or ``max_paths`` atoms.

All work in channel units (``pilots.ChannelScale``); every estimate is (..., N_B, N_U).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from models.channel_estimation.pilots import PilotDesign, unvec, vec
from radiomap_assets.domain.codebook import planar_dft_codebook


def nmse(H_hat: np.ndarray, H: np.ndarray) -> np.ndarray:
    """||H_hat - H||_F^2 / ||H||_F^2 per sample: (S, ...) -> (S,)."""
    H_hat, H = np.asarray(H_hat), np.asarray(H)
    axes = tuple(range(1, H.ndim))
    return np.sum(np.abs(H_hat - H) ** 2, axis=axes) / np.maximum(np.sum(np.abs(H) ** 2, axis=axes), 1e-30)


def to_db(x: np.ndarray | float) -> np.ndarray | float:
    return 10.0 * np.log10(np.maximum(x, 1e-30))


def nmse_db(H_hat: np.ndarray, H: np.ndarray) -> float:
    """The mean of the per-sample NMSE, in dB."""
    return float(to_db(np.mean(nmse(H_hat, H))))


def ls_estimate(Y: np.ndarray, design: PilotDesign) -> np.ndarray:
    """Eq. (3), minimum norm: Y (..., M_B, M_U) -> H (..., N_B, N_U)."""
    n_b, n_u = design.W.shape[0], design.G.shape[0]
    pinv = np.linalg.pinv(design.measurement_matrix())  # (N_B N_U, M_B M_U)
    return unvec(vec(Y) @ pinv.T, n_b, n_u)


class LmmseEstimator:
    """LMMSE with the sample mean and covariance of ``H_train`` (S, N_B, N_U) in channel units."""

    def __init__(self, H_train: np.ndarray, design: PilotDesign, noise_variance: float):
        h = vec(H_train).astype(np.complex128)  # (S, N)
        self.mean = h.mean(axis=0)
        d = h - self.mean
        R = d.T @ d.conj() / max(len(h) - 1, 1)  # E[(h - mu)(h - mu)^H]
        self.covariance = R
        M = design.measurement_matrix()
        C = M @ R @ M.conj().T + noise_variance * np.eye(M.shape[0])
        self.gain = R @ M.conj().T @ np.linalg.inv(C)  # (N, M_B M_U)
        self.M = M
        self.shape = H_train.shape[-2:]

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        h = self.mean + (vec(Y) - self.M @ self.mean) @ self.gain.T
        return unvec(h, *self.shape)


class PriorLmmse:
    """LMMSE that takes a prior estimate as a second, noisy observation of the channel: h ~ CN(mu, R_c) (the
    training set's mean and covariance, as ``LmmseEstimator``), the pilots vec(Y) = M h + n, n ~ CN(0, sigma^2 I),
    and the prior h_p = h + e, e ~ CN(bias, kappa R_e) with R_e the sample covariance of the prior's errors
    ``residuals`` (S, N_B, N_U) on training data. Both observations stacked, z = [vec(Y) - M mu; h_p - bias - mu]
    = B (h - mu) + noise with B = [M; I]: vec(H_hat) = mu + R_c B^H (B R_c B^H + diag(sigma^2 I, kappa R_e))^-1 z.
    Training errors are optimistic on unseen channels, so kappa is chosen per sequence on ``kappa_grid`` by the
    likelihood of z (label-free); its largest value (1e6) is LMMSE without the prior."""

    def __init__(self, residuals: np.ndarray, lmmse: "LmmseEstimator", design: PilotDesign, noise_variance: float,
                 kappa_grid: np.ndarray | None = None, ridge: float = 1e-6):
        e = vec(residuals).astype(np.complex128)  # (S, N)
        self.bias = e.mean(axis=0)
        d = e - self.bias
        R_e = d.T @ d.conj() / max(len(e) - 1, 1)
        self.R_e = R_e + ridge * np.real(np.trace(R_e)) / len(R_e) * np.eye(len(R_e))
        self.mean, R_c = lmmse.mean, lmmse.covariance
        M = design.measurement_matrix()
        self.B = np.vstack([M, np.eye(M.shape[1])])  # (m + N, N)
        self.BR = self.B @ R_c  # (m + N, N)
        self.BRB = self.BR @ self.B.conj().T  # (m + N, m + N)
        self.noise_variance, self.m = float(noise_variance), M.shape[0]
        self.kappa_grid = np.r_[np.logspace(-2, 3, 16), 1e6] if kappa_grid is None else np.asarray(kappa_grid)
        self.shape = residuals.shape[-2:]
        self.kappa = float("nan")  # the last sequence's choice

    def _observed(self, kappa: float) -> np.ndarray:
        C = self.BRB.copy()
        C[:self.m, :self.m] += self.noise_variance * np.eye(self.m)
        C[self.m:, self.m:] += kappa * self.R_e
        return C

    def innovation_log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """log p(z | kappa) up to a constant, per kappa of the grid: z (T, m + N)."""
        S = z.T @ z.conj()  # sum_t z z^H
        out = []
        for kappa in self.kappa_grid:
            factor = cho_factor(self._observed(kappa))
            logdet = 2.0 * np.log(np.abs(np.diag(factor[0]))).sum()
            out.append(-(len(z) * logdet + np.real(np.trace(cho_solve(factor, S)))))
        return np.array(out)

    def __call__(self, Y: np.ndarray, H_prior: np.ndarray) -> np.ndarray:
        """One sequence: Y (T, M_B, M_U), H_prior (T, N_B, N_U) -> (T, N_B, N_U)."""
        M = self.B[:self.m]
        z = np.concatenate([vec(Y) - M @ self.mean, vec(H_prior) - self.bias - self.mean], axis=1)  # (T, m + N)
        self.kappa = float(self.kappa_grid[np.argmax(self.innovation_log_likelihood(z))])
        gain = cho_solve(cho_factor(self._observed(self.kappa)), self.BR).conj().T  # R_c B^H C^-1, (N, m + N)
        return unvec(self.mean + z @ gain.T, *self.shape)


def angular_dictionary(rows: int, cols: int, oversampling: int) -> np.ndarray:
    """Array responses on an oversampled grid of direction cosines, (rows * cols, G) with unit-norm columns."""
    grid_v = oversampling * rows if rows > 1 else 1
    return planar_dft_codebook(rows, cols, grid_v, oversampling * cols).conj().T


class OmpEstimator:
    """Orthogonal matching pursuit on vec(Y) = M (A_U kron A_B) vec(X) + n."""

    def __init__(self, design: PilotDesign, bs_shape: tuple[int, int], ue_shape: tuple[int, int],
                 noise_variance: float, oversampling: int = 2, max_paths: int = 8):
        A_B = angular_dictionary(*bs_shape, oversampling)
        A_U = angular_dictionary(*ue_shape, oversampling)
        self.atoms = np.kron(A_U, A_B)  # (N_B N_U, G_U G_B): vec(a_B a_U^T) per atom
        Phi = design.measurement_matrix() @ self.atoms
        self.norms = np.maximum(np.linalg.norm(Phi, axis=0), 1e-12)
        self.Phi = Phi
        self.noise_variance = noise_variance
        self.max_paths = max_paths
        self.shape = (A_B.shape[0], A_U.shape[0])

    def estimate_one(self, y: np.ndarray) -> np.ndarray:
        residual = y.copy()
        support: list[int] = []
        x = np.zeros(0, complex)
        stop = self.noise_variance * len(y)  # E||n||^2: the residual cannot be explained below it
        for _ in range(self.max_paths):
            if np.vdot(residual, residual).real <= stop:
                break
            score = np.abs(self.Phi.conj().T @ residual) / self.norms
            score[support] = 0.0
            support.append(int(np.argmax(score)))
            x, *_ = np.linalg.lstsq(self.Phi[:, support], y, rcond=None)
            residual = y - self.Phi[:, support] @ x
        h = self.atoms[:, support] @ x if support else np.zeros(self.atoms.shape[0], complex)
        return unvec(h, *self.shape)

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        y = vec(Y).reshape(-1, self.Phi.shape[0])
        out = np.stack([self.estimate_one(v) for v in y])
        return out.reshape(np.shape(Y)[:-2] + self.shape)
