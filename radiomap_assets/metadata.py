"""Dagster metadata the UI reads well: numbers to a few significant digits, dicts and lists as JSON, paths as paths."""

from __future__ import annotations

import math

import numpy as np
from dagster import MetadataValue


def significant(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (0, NaN and inf unchanged)."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def rounded(value, digits: int = 4):
    """``value`` with every float (in dicts and lists too) rounded to ``digits`` significant digits; numpy
    scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return significant(value, digits)
    return value


def as_json(value, digits: int = 4) -> MetadataValue:
    """A dict or list as a JSON metadata value (not a Python repr), numbers rounded."""
    return MetadataValue.json(rounded(value, digits))


def time_left(elapsed_s: float, done: float, total: float) -> str:
    """Progress for the run log: share done and the time left at the rate so far (issue 15: every step longer
    than a few seconds logs one)."""
    if done <= 0 or total <= 0:
        return "0 % done"
    left = elapsed_s / done * max(total - done, 0)
    return f"{100 * min(done / total, 1):.0f} % done, about {left / 60:.1f} min left" if left >= 90 else \
        f"{100 * min(done / total, 1):.0f} % done, about {left:.0f} s left"
