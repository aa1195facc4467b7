"""Section VI's comparison on plain arrays: train on a static set, estimate along a trajectory from pilots, NMSE
per time step for every method (Figs. 5 and 6), the latent distance ||s^(t) - s^(0)|| with and without L_TC
(Fig. 4), wall times and parameter counts. The benchmark script calls ``run``; so can the Dagster layer."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from models.channel_estimation.charting import angular_chart
from models.channel_estimation.classical import LmmseEstimator, OmpEstimator, PriorLmmse, ls_estimate, nmse, to_db
from models.channel_estimation.config import ChannelEstimationConfig
from models.channel_estimation.pilots import ChannelScale, pilot_design, received_pilots
from models.channel_estimation.tracker import parameter_count
from models.channel_estimation.training import (PilotOperator, SequenceSampler, encode, estimate_end_to_end,
                                                estimate_proposed, neighbour_walk_sampler, proposed_residuals,
                                                reconstruct, train_autoencoder, train_end_to_end, train_tracker)

METHODS = ("ls", "lmmse", "omp", "proposed", "proposed_lmmse", "proposed_label_free", "proposed_no_tc", "proposed_eq5",
           "end_to_end")
# the autoencoder + tracker variants: name -> (L_TC on, the feature representation (None = the config's), label-free:
# L_TC and the tracker's training walks on the channels' angular chart (charting.angular_chart) instead of the
# positions the caller gives)
PROPOSED = {"proposed": (True, None, False), "proposed_label_free": (True, None, True),
            "proposed_no_tc": (False, None, False), "proposed_eq5": (True, "amplitude_phase", False)}
# the declared variant (ours): the proposed tracker's estimate as a second observation of H in an LMMSE update with
# the same interval's pilots (classical.PriorLmmse), its error covariance that of the proposed networks on training
# walks, scaled by the likelihood's kappa
REFINED = {"proposed_lmmse": "proposed"}


@dataclass
class ExperimentResult:
    nmse: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (T,) per time step
    wall_s: dict[str, float] = field(default_factory=dict)  # method -> training + estimation seconds
    parameters: dict[str, int] = field(default_factory=dict)
    latent_distance: dict[str, np.ndarray] = field(default_factory=dict)  # proposed variant -> (T,) (Fig. 4)
    autoencoder_floor_db: dict[str, float] = field(default_factory=dict)  # reconstruction NMSE on the trajectory
    snr_db: float = float("nan")  # mean received SNR per antenna pair
    prior_scale: dict[str, float] = field(default_factory=dict)  # refined variant -> kappa chosen on the walk

    def nmse_db(self) -> dict[str, float]:
        """Mean NMSE over the trajectory in dB per method."""
        return {k: float(to_db(np.mean(v))) for k, v in self.nmse.items()}


def run(config: ChannelEstimationConfig, H_static: np.ndarray, positions_static: np.ndarray, H_test: np.ndarray,
        sampler: SequenceSampler | None = None, methods: tuple[str, ...] = METHODS, seed: int = 0,
        log=print, trained: dict | None = None) -> ExperimentResult:
    """``H_static`` (N, N_B, N_U) and ``H_test`` (T, N_B, N_U) complex at one subcarrier (raw units: the paper's
    transmit and noise powers apply), ``positions_static`` (N, 2 or 3) metres (L_TC's positions: true ones for the
    paper's protocol, recovered ones for the label-free variant). ``sampler``: the tracker's training sequences
    (default: walks over the static set's neighbours). ``trained``: proposed variants already trained on this static
    set with this config (name -> persistence.ChannelEstimator, e.g. a registered version): used, not retrained (their
    wall time is then the estimation's alone). Returns NMSE per time step of every method in ``methods``."""
    scale = ChannelScale.fit(H_static, config.tx_power_dbm, config.noise_power_dbm)
    Hs, Ht = H_static / scale.scale, H_test / scale.scale
    design = pilot_design(config.num_bs_antennas, config.num_ue_antennas, config.pilots_bs, config.pilots_ue,
                          config.pilot_seed)
    op = PilotOperator.of(design, scale.noise_variance)
    Y = received_pilots(Ht, design, scale.noise_variance, np.random.default_rng([seed, 7]))  # (T, M_B, M_U)
    sampler = sampler or neighbour_walk_sampler(positions_static, config.walk_neighbours)
    out = ExperimentResult(snr_db=scale.snr_db())

    def timed(name, fn):
        t0 = time.perf_counter()
        H_hat = fn()
        out.wall_s[name] = time.perf_counter() - t0
        out.nmse[name] = nmse(H_hat, Ht)
        log(f"  {name:15s} {to_db(out.nmse[name].mean()):7.2f} dB  ({out.wall_s[name]:.1f} s)")

    if "ls" in methods:
        timed("ls", lambda: ls_estimate(Y, design))
    lmmse = LmmseEstimator(Hs, design, scale.noise_variance)
    if "lmmse" in methods:
        timed("lmmse", lambda: lmmse(Y))
    if "omp" in methods:
        timed("omp", lambda: OmpEstimator(design, (config.bs_rows, config.bs_cols), (config.ue_rows, config.ue_cols),
                                          scale.noise_variance, config.omp_oversampling, config.omp_max_paths)(Y))
    networks: dict[str, tuple] = {}  # proposed variant -> (autoencoder, tracker, its training walks), trained once

    def proposed_networks(name: str):
        if name in networks:
            return networks[name]
        tc, representation, label_free = PROPOSED[name]
        cfg = dataclasses.replace(config, representation=representation or config.representation)
        positions, walks = positions_static, sampler
        if label_free:  # no position: the chart of the static channels themselves
            positions = angular_chart(H_static, config.bs_rows, config.bs_cols)
            walks = neighbour_walk_sampler(positions, config.walk_neighbours)
        if name in (trained or {}):
            ae, tracker = trained[name].autoencoder, trained[name].tracker
        else:
            ae, _ = train_autoencoder(cfg, Hs, positions, temporal_loss=tc)
            tracker = None
        s_true, _, _ = encode(ae, Ht)
        out.latent_distance[name] = np.linalg.norm((s_true - s_true[:1]).numpy(), axis=1)  # Fig. 4
        out.autoencoder_floor_db[name] = float(to_db(nmse(reconstruct(ae, Ht), Ht).mean()))
        if tracker is None:
            tracker, _ = train_tracker(cfg, ae, Hs, walks, op)
        out.parameters[f"{name}_autoencoder"] = parameter_count(ae)
        out.parameters[f"{name}_tracker"] = parameter_count(tracker)
        networks[name] = (ae, tracker, walks)
        return networks[name]

    for name in PROPOSED:
        if name in methods:
            timed(name, lambda name=name: estimate_proposed(*proposed_networks(name)[:2], Y))
    for name, base in REFINED.items():
        if name not in methods:
            continue

        def refined(base=base):
            ae, tracker, walks = proposed_networks(base)
            residuals = proposed_residuals(ae, tracker, Hs, walks, design, scale.noise_variance,
                                           np.random.default_rng([seed, 11]), length=config.seq_len)
            refine = PriorLmmse(residuals, lmmse, design, scale.noise_variance)
            H_hat = refine(Y, estimate_proposed(ae, tracker, Y))
            out.prior_scale[name] = refine.kappa
            log(f"  {name}: kappa {refine.kappa:.3g} (the prior's training error covariance scale; 1e6: no prior)")
            return H_hat

        timed(name, refined)
    if "end_to_end" in methods:
        def end_to_end():
            model, _ = train_end_to_end(config, Hs, sampler, op)
            out.parameters["end_to_end"] = parameter_count(model)
            return estimate_end_to_end(model, Y)

        timed("end_to_end", end_to_end)
    return out


def latent_roughness(d: np.ndarray) -> float:
    """Fig. 4 in one number: total variation of ||s^(t) - s^(0)|| over its range (lower = smoother)."""
    return float(np.abs(np.diff(d)).sum() / max(float(d.max() - d.min()), 1e-12))


def train_estimator(config: ChannelEstimationConfig, H_static: np.ndarray, positions_static: np.ndarray,
                    temporal_loss: bool = True):
    """The proposed estimator alone (what the registry serves): the channel scale of the static set, the autoencoder
    (eq. (11)) and the tracker (eq. (12)) trained on it as ``run`` trains them. Returns (persistence.ChannelEstimator,
    {"autoencoder": FitResult, "tracker": FitResult})."""
    from models.channel_estimation.persistence import ChannelEstimator

    scale = ChannelScale.fit(H_static, config.tx_power_dbm, config.noise_power_dbm)
    Hs = H_static / scale.scale
    design = pilot_design(config.num_bs_antennas, config.num_ue_antennas, config.pilots_bs, config.pilots_ue,
                          config.pilot_seed)
    ae, ae_fit = train_autoencoder(config, Hs, positions_static, temporal_loss=temporal_loss)
    tracker, tr_fit = train_tracker(config, ae, Hs, neighbour_walk_sampler(positions_static, config.walk_neighbours),
                                    PilotOperator.of(design, scale.noise_variance))
    return ChannelEstimator(config, scale, ae, tracker), {"autoencoder": ae_fit, "tracker": tr_fit}


def received_pilots_raw(config: ChannelEstimationConfig, H: np.ndarray, seed: int = 0) -> np.ndarray:
    """Received pilots in volts (eq. (1) with the config's transmit and noise powers) for H (T, N_B, N_U) in the
    channel's own units: what ``persistence.ChannelEstimator.estimate`` takes."""
    scale = ChannelScale.fit(H, config.tx_power_dbm, config.noise_power_dbm)
    design = pilot_design(config.num_bs_antennas, config.num_ue_antennas, config.pilots_bs, config.pilots_ue,
                          config.pilot_seed)
    Y = received_pilots(H / scale.scale, design, scale.noise_variance, np.random.default_rng(seed))
    return Y * scale.volts_per_unit(config.tx_power_dbm)


VALIDATION_EVERY = 10  # every 10th static sample is held out of the trainings that the registry's versions compete on


def validation_split(num_samples: int, every: int = VALIDATION_EVERY) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) indices of a static set: every ``every``-th sample (from the last of each block) is
    held out, so that the held-out users spread over the whole set and the split is the same for every version."""
    index = np.arange(num_samples)
    held = (index % every) == every - 1
    return index[~held], index[held]


def validation_nmse_db(estimator, H_raw: np.ndarray, positions: np.ndarray, sequences: int = 64,
                       seed: int = 0) -> float:
    """A registered estimator's score (lower is better): the median over samples of the NMSE in dB of its estimates
    along ``sequences`` walks over held-out users ``H_raw`` (S, N_B, N_U) in the channel's own units at
    ``positions`` (S, 2 or 3), from received pilots of the estimator's own design and powers with a fixed noise
    seed, so two versions with the same pilots and arrays are scored on the same observations. The median, not the
    mean: on San Francisco's default static set a few weak users behind buildings, whose norm the tracker
    overestimates many times over, put the mean at +3 dB while the median user was at -3 dB (2026-11-28), and one
    such user would decide a promotion. ``estimator``: ``persistence.ChannelEstimator``."""
    config = estimator.config
    walks = neighbour_walk_sampler(positions, min(config.walk_neighbours, max(len(H_raw) - 1, 1)))
    idx = walks(np.random.default_rng([seed, 3]), sequences, config.seq_len)  # (B, T)
    Y_raw = received_pilots_raw(config, H_raw, seed)  # (S, M_B, M_U) volts; fresh noise per user, fixed by seed
    H_hat = estimator.estimate(Y_raw[idx])  # (B, T, N_B, N_U)
    per_sample = nmse(H_hat.reshape((-1,) + H_hat.shape[2:]), H_raw[idx].reshape((-1,) + H_raw.shape[1:]))
    return float(to_db(np.median(per_sample)))


def comparable(a: ChannelEstimationConfig, b: ChannelEstimationConfig) -> str | None:
    """Why two estimators cannot be scored on the same received pilots (None: they can): the arrays, the pilot
    counts and the pilot seed fix what the BS receives."""
    keys = ("bs_rows", "bs_cols", "ue_rows", "ue_cols", "pilots_bs", "pilots_ue", "pilot_seed", "tx_power_dbm",
            "noise_power_dbm")
    differ = [k for k in keys if getattr(a, k) != getattr(b, k)]
    return f"different {', '.join(differ)}" if differ else None
