"""Channel-charting (CC) baselines of the paper's comparison: Semi-CC-GT, Semi-CC-noisy and real-world CC ([25]).

One network and one training loop; the three variants differ only in their supervision:

* ``semi_cc_gt`` (supervision ``"labels"``): L = λ_t L_t + λ_c L_c with λ_t = λ_c = 1, where L_t is the triplet
  loss of eqs. (26)-(27) (``models.beam_map.losses.triplet_loss``) and L_c the mean distance to ground-truth
  locations of a small labelled subset (500 samples in the paper; see ``choose_labelled_samples``).
* ``semi_cc_noisy`` (supervision ``"coarse"``): L_chart = λ_t L_t + λ_c L_c with λ_t = 1, λ_c = 0.01 and L_c the
  coarse-location loss of eq. (23) (``models.beam_map.losses.coarse_location_loss``) on every sample of the batch.
* ``real_world_cc`` (supervision ``"base_stations"``, ref. [25]): no user location at all, only the base-station
  positions. For every sample and every pair of base stations (a, b) whose strongest *observed* entries satisfy
  s_a - s_b > ``bs_power_threshold``, the sample should be closer to a than to b:
  L_bs = mean over such pairs of max(0, ||p̂ - bs_a|| - ||p̂ - bs_b|| + ``bs_margin_m``);
  and, where the caller gives the distance model (``bs_max_distance_m``: per sample and base station the largest
  distance its received power allows in free space, ``radiomap_assets.domain.geometric_locator
  .free_space_distance_bound_m``), L_dist = mean over (sample, base station) of max(0, ||p̂ - bs|| - d_max);
  L = λ_t L_t + λ_bs L_bs + λ_dist L_dist + λ_box L_box.

Choices where the paper is silent (documented here, not tuned per data set):

* Network: a per-sample MLP ``[g ⊙ m, m]`` (2N) -> hidden (256, 256, 128, ReLU) -> 2, with output
  ``centre + position_scale_m * f(x)``. It sees one sample at a time (no temporal context): time enters only
  through which samples form triplets, as in classic channel charting. The centre is the mean of the coarse
  locations (``"coarse"`` and ``"labels"``) or of the base stations (``"base_stations"``), so the untrained chart
  already lies on the site; it is stored as a buffer so ``predict_chart`` needs nothing else.
* Batches: ``batch_size`` windows of ``seq_len`` consecutive samples (same length-proportional window draw as
  ``models.beam_map.training.sample_windows``); triplet negatives are drawn across the whole batch. For ``"labels"``
  the labelled samples are too sparse to appear reliably in random windows (500 of tens of thousands), so L_c is
  computed on a separate draw of ``label_batch_size`` labelled samples (uniform, with replacement) each step.
* Real-world CC only: the hinge above fixes which side of every bisector a sample lies on but does not bound the
  chart, so a weak prior L_box = mean over samples of the distance outside the box (base-station bounding box
  padded by ``box_padding_m``, or the caller's ``site_box``) keeps it on the site; it is zero inside the box.
* ``choose_labelled_samples`` caps the label count at half of all samples, so at least half remain unlabelled
  for evaluation.
* Every random draw of step s is seeded by (seed, s) (``np.random.default_rng([seed, step])`` for windows and
  labelled draws, a ``torch.Generator`` for triplets); weights are initialised after ``torch.manual_seed(seed)``.
  Adam, gradient-norm clip 5 (as in ``models.beam_map.training.train``).

Observed on the synthetic site of tests/test_channel_charting.py (coarse error 25 m): with a per-sample
network the chart's sample-to-sample noise is several metres, far above the 1 m scale of the triplet loss (T_c = 1 s
at walking speed, Q_t = 1 m); the triplet term is then lowest for a shrunken chart. With λ_c = 1 (Semi-CC-GT) the
location term holds the scale (about 6 m). With the paper's λ_c = 0.01 (Semi-CC-noisy) it does not, and the chart
shrinks to a small patch (about 70 m error). Real-world CC ends up in a small patch around the point where the
base-station bisectors meet: the power order is respected (about 90 % of samples lie nearest the base station
they hear most strongly), but the error is about 80 m. These are properties of the losses as specified, not tuned away.

The step count matters where the site is large: at λ_c = 0.01 the location term's pull is weak beside the triplet
term's, and the chart grows to the site's scale over thousands of steps. On San Francisco's Table I walk (default
profile, 2026-12-07) Semi-CC-Noisy went 41.3 m (1,500 steps), 25.9 m (4,000), 19.9 m (8,000; paper 14.61 m) and
Semi-CC-GT 29.0 m -> 13.9 m (1,500 -> 8,000; paper 6.81 m); a larger Adam step did not replace steps (3e-3: 44.5 m,
1e-2: 65.4 m at 1,500). So the profiles give the charts 8,000 steps (``BeamMapSection.chart_steps``), the hall
1,500: its chart shrinks with more (Semi-CC-Noisy 5.89 m at 6,000 steps against 5.41 m at 1,500).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn

from models.beam_map.losses import coarse_location_loss, triplet_loss
from models.beam_map.training import TrajectoryData, sample_windows
from models.nn.fit import fit, pick_device
from radiomap_assets.domain.beam_layout import BeamLayout

Supervision = Literal["labels", "coarse", "base_stations"]
VariantName = Literal["semi_cc_gt", "semi_cc_noisy", "real_world_cc"]
SUPERVISIONS = ("labels", "coarse", "base_stations")


@dataclass(frozen=True)
class ChartConfig:
    hidden: tuple[int, ...] = (256, 256, 128)
    steps: int = 1500
    batch_size: int = 16  # windows per step
    seq_len: int = 64  # samples per window (triplets are drawn inside a window)
    learning_rate: float = 1e-3
    lambda_t: float = 1.0
    lambda_c: float = 1.0  # location loss (labels or coarse)
    lambda_bs: float = 1.0  # base-station ordering loss (real-world CC)
    lambda_box: float = 1.0  # bounding-box prior (real-world CC only)
    lambda_dist: float = 1.0  # free-space distance bound (real-world CC, where bs_max_distance_m is given)
    coherence_time_s: float = 1.0  # T_c
    triplet_margin_m: float = 1.0  # Q_t
    bs_margin_m: float = 5.0
    bs_power_threshold: float = 0.03  # in normalized g units (100 dB range: 3 dB)
    box_padding_m: float = 50.0  # real-world CC: base-station bounding box padded by this (when no site_box)
    label_batch_size: int = 256  # labelled samples drawn per step ("labels")
    position_scale_m: float = 100.0
    seed: int = 0


def variant_config(name: VariantName, steps: int | None = None) -> tuple[ChartConfig, str]:
    """The paper's weights for each CC variant and its supervision kind (``train_channel_chart``'s argument)."""
    if name == "semi_cc_gt":
        config, supervision = ChartConfig(lambda_t=1.0, lambda_c=1.0), "labels"
    elif name == "semi_cc_noisy":
        config, supervision = ChartConfig(lambda_t=1.0, lambda_c=0.01), "coarse"
    elif name == "real_world_cc":
        config, supervision = ChartConfig(lambda_t=1.0, lambda_c=0.0, lambda_bs=1.0), "base_stations"
    else:
        raise ValueError(f"unknown channel-charting variant {name!r}; expected semi_cc_gt, semi_cc_noisy or "
                         "real_world_cc")
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        config = dataclasses.replace(config, steps=int(steps))
    return config, supervision


class ChannelChartNetwork(nn.Module):
    """Per-sample MLP: [g ⊙ m, m] (B, 2N) -> p̂ (B, 2) metres, p̂ = centre + scale · f(x)."""

    def __init__(self, num_entries: int, hidden: tuple[int, ...] = (256, 256, 128),
                 centre_xy: tuple[float, float] = (0.0, 0.0), scale_m: float = 100.0):
        super().__init__()
        self.num_entries = int(num_entries)
        layers: list[nn.Module] = []
        width = 2 * self.num_entries
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 2))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("centre", torch.tensor(centre_xy, dtype=torch.float32))  # (2,)
        self.register_buffer("scale", torch.tensor(float(scale_m), dtype=torch.float32))  # ()

    @staticmethod
    def features(g: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """g (..., N) float, m (..., N) bool -> [g ⊙ m, m] (..., 2N)."""
        mf = m.to(g.dtype)
        return torch.cat([g * mf, mf], dim=-1)

    def forward(self, g: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """g, m (..., N) -> p̂ (..., 2) metres."""
        return self.centre + self.scale * self.mlp(self.features(g, m))


# ---------------------------------------------------------------------------------------------------------------
# Labels and batches
# ---------------------------------------------------------------------------------------------------------------

def choose_labelled_samples(lengths: list[int], count: int, seed: int) -> list[np.ndarray]:
    """Boolean masks (one per trajectory, shape (L_i,)) marking ``count`` samples drawn uniformly at random without
    replacement over all samples. ``count`` is capped at half of all samples (floor), so at least half stay
    unlabelled for evaluation."""
    lengths = [int(n) for n in lengths]
    if any(n < 0 for n in lengths):
        raise ValueError(f"trajectory lengths must be >= 0, got {lengths}")
    if count < 1:
        raise ValueError(f"need at least 1 labelled sample, got count={count}")
    total = sum(lengths)
    cap = total // 2
    if cap < 1:
        raise ValueError(f"too few samples ({total}) to label any while keeping half unlabelled")
    chosen = np.random.default_rng(seed).choice(total, size=min(int(count), cap), replace=False)
    flat = np.zeros(total, dtype=bool)
    flat[chosen] = True
    return np.split(flat, np.cumsum(lengths)[:-1])


# ---------------------------------------------------------------------------------------------------------------
# Losses specific to the baselines
# ---------------------------------------------------------------------------------------------------------------

def strongest_per_bs(g: torch.Tensor, m: torch.Tensor, num_bs: int, beams_per_bs: int) -> torch.Tensor:
    """Strongest observed entry per base station, -inf where none of its beams is observed.
    g, m (..., N_b·|W|) -> (..., N_b); entry k = b·|W| + j."""
    return BeamLayout(num_bs, beams_per_bs).per_bs(torch.where(m, g, torch.full_like(g, -torch.inf))).amax(dim=-1)


def base_station_order_loss(p_hat: torch.Tensor, strongest: torch.Tensor, bs_xy: torch.Tensor,
                            threshold: float, margin_m: float) -> torch.Tensor:
    """Real-world CC hinge: for pairs (a, b) with s_a - s_b > threshold (both observed),
    max(0, ||p̂ - bs_a|| - ||p̂ - bs_b|| + margin), averaged over such pairs.
    p̂ (S, 2), strongest (S, N_b) with -inf for unobserved, bs_xy (N_b, 2)."""
    dist = torch.linalg.norm(p_hat[:, None, :] - bs_xy[None, :, :], dim=-1)  # (S, N_b)
    seen = torch.isfinite(strongest)
    s = torch.where(seen, strongest, torch.zeros_like(strongest))
    valid = (s[:, :, None] - s[:, None, :] > threshold) & seen[:, :, None] & seen[:, None, :]  # (S, a, b)
    hinge = torch.relu(dist[:, :, None] - dist[:, None, :] + margin_m)  # (S, a, b)
    return (hinge * valid).sum() / valid.sum().clamp_min(1)


def distance_bound_loss(p_hat: torch.Tensor, bs_xy: torch.Tensor, max_distance_m: torch.Tensor) -> torch.Tensor:
    """Real-world CC's distance model: mean over (sample, base station) pairs with a finite bound of
    max(0, ||p̂ - bs|| - d_max). p̂ (S, 2), bs_xy (N_b, 2), max_distance_m (S, N_b) with inf where unbounded."""
    dist = torch.linalg.norm(p_hat[:, None, :] - bs_xy[None, :, :], dim=-1)  # (S, N_b)
    bounded = torch.isfinite(max_distance_m)
    excess = torch.relu(dist - torch.where(bounded, max_distance_m, dist))
    return excess.sum() / bounded.sum().clamp_min(1)


def box_prior_loss(p_hat: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Mean distance outside the axis-aligned box [lo, hi] (zero inside). p̂ (S, 2), lo/hi (2,)."""
    outside = torch.relu(lo - p_hat) + torch.relu(p_hat - hi)  # (S, 2)
    return torch.linalg.norm(outside, dim=-1).mean()


# ---------------------------------------------------------------------------------------------------------------
# Training and inference
# ---------------------------------------------------------------------------------------------------------------

def _validate_data(data: list[TrajectoryData]) -> int:
    if not isinstance(data, (list, tuple)) or not data:
        raise ValueError("data must be a non-empty list of TrajectoryData")
    num_entries = None
    for d in data:
        g, m = np.asarray(d.g), np.asarray(d.m)
        if g.ndim != 2 or g.shape != m.shape:
            raise ValueError(f"trajectory {d.trajectory_id!r}: g and m must both be (L, N), got {g.shape} and "
                             f"{m.shape}")
        if num_entries is None:
            num_entries = g.shape[1]
        elif g.shape[1] != num_entries:
            raise ValueError(f"trajectory {d.trajectory_id!r} has N={g.shape[1]} entries, others {num_entries}")
        if np.asarray(d.t_s).shape != (len(g),):
            raise ValueError(f"trajectory {d.trajectory_id!r}: t_s must be ({len(g)},), got "
                             f"{np.asarray(d.t_s).shape}")
        if np.asarray(d.coarse_xy).shape != (len(g), 2):
            raise ValueError(f"trajectory {d.trajectory_id!r}: coarse_xy must be ({len(g)}, 2), got "
                             f"{np.asarray(d.coarse_xy).shape}")
    if num_entries is None or num_entries < 1:
        raise ValueError("data has no CSI entries (N = 0)")
    return int(num_entries)


def _validate_labels(data: list[TrajectoryData], labels_xy) -> list[np.ndarray]:
    if labels_xy is None:
        raise ValueError('supervision="labels" needs labels_xy: one (L, 2) array per trajectory, NaN = unlabelled')
    if len(labels_xy) != len(data):
        raise ValueError(f"labels_xy has {len(labels_xy)} arrays for {len(data)} trajectories")
    out = []
    for d, lab in zip(data, labels_xy):
        lab = np.asarray(lab, dtype=np.float64)
        if lab.shape != (len(d), 2):
            raise ValueError(f"labels_xy for trajectory {d.trajectory_id!r} must be ({len(d)}, 2), got {lab.shape}")
        out.append(lab)
    if sum(int(np.isfinite(lab).all(axis=1).sum()) for lab in out) < 1:
        raise ValueError('supervision="labels" needs at least 1 labelled sample (a row of labels_xy without NaN)')
    return out


def _validate_bs(bs_xy, beams_per_bs, num_entries: int) -> tuple[np.ndarray, int]:
    if bs_xy is None:
        raise ValueError('supervision="base_stations" needs bs_xy: the (N_b, 2) base-station positions in metres')
    bs = np.asarray(bs_xy, dtype=np.float64)
    if bs.ndim != 2 or bs.shape[1] != 2 or len(bs) < 2:
        raise ValueError(f"bs_xy must be (N_b, 2) with N_b >= 2 base stations, got {bs.shape}")
    if not np.isfinite(bs).all():
        raise ValueError("bs_xy must be finite")
    if beams_per_bs is None:
        if num_entries % len(bs):
            raise ValueError(f"N={num_entries} entries is not a multiple of N_b={len(bs)} base stations")
        beams_per_bs = num_entries // len(bs)
    if beams_per_bs < 1 or len(bs) * beams_per_bs != num_entries:
        raise ValueError(f"N_b·|W| = {len(bs)}·{beams_per_bs} does not match the N={num_entries} CSI entries")
    return bs, int(beams_per_bs)


def train_channel_chart(data: list[TrajectoryData], supervision: Supervision, config: ChartConfig,
                        labels_xy: list[np.ndarray] | None = None, bs_xy: np.ndarray | None = None,
                        beams_per_bs: int | None = None, site_box: tuple[float, float, float, float] | None = None,
                        bs_max_distance_m: list[np.ndarray] | None = None,
                        on_step: Callable[[int, dict], None] | None = None, device: str | None = None
                        ) -> tuple[ChannelChartNetwork, list[dict]]:
    """Train one channel chart. Returns the network (on the CPU, eval mode) and one history row per step
    (step, total, triplet, location or bs_order + box, seconds).

    labels_xy: per trajectory (L, 2), NaN = unlabelled (supervision="labels").
    bs_xy: (N_b, 2) base stations, beams_per_bs |W| (default N / N_b) (supervision="base_stations").
    site_box: (x_min, y_min, x_max, y_max) for the real-world box prior (default: base-station box padded by
    ``config.box_padding_m``).
    bs_max_distance_m: per trajectory (L, N_b) the free-space distance bound to each base station, inf where none
    (supervision="base_stations"; None: no distance term)."""
    if supervision not in SUPERVISIONS:
        raise ValueError(f"unknown supervision {supervision!r}; expected one of {SUPERVISIONS}")
    if config.steps < 1 or config.batch_size < 1 or config.seq_len < 2:
        raise ValueError(f"need steps >= 1, batch_size >= 1, seq_len >= 2; got {config.steps}, "
                         f"{config.batch_size}, {config.seq_len}")
    num_entries = _validate_data(data)
    lengths = [len(d) for d in data]
    if max(lengths) < config.seq_len:
        raise ValueError(f"no trajectory has at least seq_len={config.seq_len} samples (longest: {max(lengths)})")
    device = pick_device(device)

    # Supervision-specific inputs and the chart's centre.
    lab_xy = lab_idx = None
    bs_t = box_lo = box_hi = max_dist_flat = offsets = None
    if supervision == "labels":
        labels = _validate_labels(data, labels_xy)
        flat = np.concatenate(labels)  # (ΣL, 2)
        lab_idx = np.nonzero(np.isfinite(flat).all(axis=1))[0]  # indices into the concatenated samples
        lab_xy = torch.from_numpy(flat[lab_idx]).float().to(device)  # (n_lab, 2)
        g_all = np.concatenate([np.asarray(d.g, dtype=np.float32) for d in data])  # (ΣL, N)
        m_all = np.concatenate([np.asarray(d.m, dtype=bool) for d in data])
        lab_g = torch.from_numpy(g_all[lab_idx]).to(device)  # (n_lab, N)
        lab_m = torch.from_numpy(m_all[lab_idx]).to(device)
    if supervision in ("labels", "coarse"):
        coarse = np.concatenate([np.asarray(d.coarse_xy, dtype=np.float64) for d in data])
        coarse = coarse[np.isfinite(coarse).all(axis=1)]
        if not len(coarse):
            raise ValueError("no finite coarse location to centre the chart on")
        centre = coarse.mean(axis=0)
    else:
        bs, beams_per_bs = _validate_bs(bs_xy, beams_per_bs, num_entries)
        centre = bs.mean(axis=0)
        if site_box is None:
            pad = config.box_padding_m
            site_box = (*(bs.min(axis=0) - pad), *(bs.max(axis=0) + pad))
        if len(site_box) != 4 or site_box[2] <= site_box[0] or site_box[3] <= site_box[1]:
            raise ValueError(f"site_box must be (x_min, y_min, x_max, y_max) with max > min, got {site_box}")
        bs_t = torch.from_numpy(bs).float().to(device)
        if bs_max_distance_m is not None:
            if len(bs_max_distance_m) != len(data) or any(
                    np.shape(b) != (len(d), len(bs)) for b, d in zip(bs_max_distance_m, data)):
                raise ValueError(f"bs_max_distance_m must hold one (L, N_b={len(bs)}) array per trajectory")
            # one flat (ΣL, N_b) table; a window's samples are found by (trajectory, sample) index
            max_dist_flat = torch.from_numpy(np.concatenate(bs_max_distance_m).astype(np.float32)).to(device)
            offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]])).long().to(device)
        box_lo = torch.tensor(site_box[:2], dtype=torch.float32, device=device)
        box_hi = torch.tensor(site_box[2:], dtype=torch.float32, device=device)

    torch.manual_seed(config.seed)
    net = ChannelChartNetwork(num_entries, config.hidden, (float(centre[0]), float(centre[1])),
                              config.position_scale_m).to(device)

    def step_loss(step: int, rng: np.random.Generator, gen: torch.Generator):
        batch = sample_windows(data, config.seq_len, config.batch_size, rng).to(device)
        g, m, p = batch.g, batch.m, batch.coarse
        p_hat = net(g, m)  # (B, L, 2)
        terms = {"triplet": triplet_loss(p_hat, batch.t_s, batch.trajectory, config.coherence_time_s,
                                         config.triplet_margin_m, gen)}
        total = config.lambda_t * terms["triplet"]
        if supervision == "coarse":
            ok = torch.isfinite(p).all(dim=-1)  # (B, L)
            terms["location"] = coarse_location_loss(p_hat[ok], p[ok]) if bool(ok.any()) else p_hat.new_zeros(())
            total = total + config.lambda_c * terms["location"]
        elif supervision == "labels":
            pick = torch.from_numpy(rng.integers(0, len(lab_idx), size=config.label_batch_size)).to(device)
            terms["location"] = coarse_location_loss(net(lab_g[pick], lab_m[pick]), lab_xy[pick])
            total = total + config.lambda_c * terms["location"]
        else:
            flat_hat = p_hat.reshape(-1, 2)  # (B·L, 2)
            strongest = strongest_per_bs(g, m, len(bs_t), beams_per_bs).reshape(-1, len(bs_t))  # (B·L, N_b)
            terms["bs_order"] = base_station_order_loss(flat_hat, strongest, bs_t, config.bs_power_threshold,
                                                        config.bs_margin_m)
            terms["box"] = box_prior_loss(flat_hat, box_lo, box_hi)
            total = total + config.lambda_bs * terms["bs_order"] + config.lambda_box * terms["box"]
            if max_dist_flat is not None:
                rows = (offsets[batch.trajectory] + batch.sample).reshape(-1)  # (B·L,) into the flat table
                terms["distance"] = distance_bound_loss(flat_hat, bs_t, max_dist_flat[rows])
                total = total + config.lambda_dist * terms["distance"]
        return {"total": total, **terms}, g.shape[0] * g.shape[1]

    result = fit(net, step_loss, config.steps, config.seed, config.learning_rate, device, on_step=on_step)
    return net, result.history


@torch.no_grad()
def predict_chart(net: ChannelChartNetwork, g: np.ndarray, m: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Chart positions p̂ (L, 2) metres of samples g (L, N), m (L, N)."""
    g = np.asarray(g, dtype=np.float32)
    m = np.asarray(m, dtype=bool)
    if g.ndim != 2 or g.shape != m.shape or g.shape[1] != net.num_entries:
        raise ValueError(f"g and m must be (L, {net.num_entries}), got {g.shape} and {m.shape}")
    net.eval()
    dev = net.centre.device
    out = [net(torch.from_numpy(g[i:i + chunk]).to(dev), torch.from_numpy(m[i:i + chunk]).to(dev)).cpu()
           for i in range(0, len(g), chunk)]
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros((0, 2))
