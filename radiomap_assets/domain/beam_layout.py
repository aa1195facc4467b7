"""The layout of the CSI vector of section II-A: which (base station, beam) every entry k of g, m is.

Entry k of g̊ = g ⊙ m (eq. (2), stacked over base stations) is base station b (its position in the campaign's
base-station list, not its id) and beam j of that station's codebook W: k = b·|W| + j, N = N_b·|W| entries.
This module is the one place that owns the rule; every caller (the measurement model, the ray tracer's transmitter
order, the model's per-base-station tokens, the baselines, beam maps, the capacity experiment) goes through
:class:`BeamLayout`. Methods take numpy arrays or torch tensors alike (they only reshape and index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BeamLayout:
    num_bs: int  # N_b
    beams_per_bs: int  # |W|

    def __post_init__(self) -> None:
        if self.num_bs < 1 or self.beams_per_bs < 1:
            raise ValueError(f"a beam layout needs >= 1 base station and >= 1 beam, got N_b={self.num_bs}, "
                             f"|W|={self.beams_per_bs}")

    @classmethod
    def from_entries(cls, num_entries: int, beams_per_bs: int) -> "BeamLayout":
        """The layout of N entries with |W| beams per base station; N must be a multiple of |W|."""
        if beams_per_bs < 1 or num_entries % beams_per_bs:
            raise ValueError(f"{num_entries} CSI entries are not a whole number of base stations of "
                             f"{beams_per_bs} beams")
        return cls(num_entries // beams_per_bs, beams_per_bs)

    @property
    def num_entries(self) -> int:  # N = N_b·|W|
        return self.num_bs * self.beams_per_bs

    def entry(self, bs_position, beam):
        """k = b·|W| + j, elementwise; raises on a base-station position or beam outside the layout."""
        b = np.asarray(bs_position, dtype=np.int64)
        j = np.asarray(beam, dtype=np.int64)
        if b.size and (b.min() < 0 or b.max() >= self.num_bs):
            raise ValueError(f"base-station position outside [0, {self.num_bs})")
        if j.size and (j.min() < 0 or j.max() >= self.beams_per_bs):
            raise ValueError(f"beam outside [0, {self.beams_per_bs})")
        return b * self.beams_per_bs + j

    def bs_and_beam(self, entry) -> tuple[np.ndarray, np.ndarray]:
        """(b, j) of entries k: the inverse of :meth:`entry`."""
        return np.divmod(np.asarray(entry, dtype=np.int64), self.beams_per_bs)

    def per_bs(self, x, axis: int = -1):
        """Split the entry axis (length N) of x into (N_b, |W|): (..., N, ...) -> (..., N_b, |W|, ...)."""
        shape = tuple(x.shape)
        axis = axis % len(shape)
        if shape[axis] != self.num_entries:
            raise ValueError(f"axis {axis} has {shape[axis]} entries, the layout {self.num_entries}")
        return x.reshape(shape[:axis] + (self.num_bs, self.beams_per_bs) + shape[axis + 1:])

    def flat(self, x, axis: int = -2):
        """Join axes (axis, axis + 1) = (N_b, |W|) of x into the entry axis: the inverse of :meth:`per_bs`."""
        shape = tuple(x.shape)
        axis = axis % len(shape)
        if shape[axis:axis + 2] != (self.num_bs, self.beams_per_bs):
            raise ValueError(f"axes {axis}, {axis + 1} are {shape[axis:axis + 2]}, the layout "
                             f"({self.num_bs}, {self.beams_per_bs})")
        return x.reshape(shape[:axis] + (self.num_entries,) + shape[axis + 2:])
