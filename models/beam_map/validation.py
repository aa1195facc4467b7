"""A label-free validation score for a trained model version (issue 15: promote only better models).

``heldout_beam_error_db``: how well the model's recovered positions and the measurements explain measurements they
did not see. For every sample one observed entry (base station, beam) is held out: hidden from the model's input
(g = 0, m = 0) and kept out of the radio map. The model recovers every trajectory from what is left (eq. (17): the
most likely cell per sample); the radio map is the mean of the remaining observed g per (cell, entry)
(``domain.measurement.radio_map_from_positions``, the same map the SKF and the refinement use); the score is the
RMS difference, in dB, between each held-out measurement and the map's value for its entry at its sample's
recovered cell (samples whose cell has no other observation of that entry are not scored). A model that places
samples where the measurements agree scores low; no position label is read.

Two model versions are compared on the same data and the same held-out entries (the seed), so the comparison is
fair whatever each was trained on.
"""

from __future__ import annotations

import numpy as np

from models.beam_map.generative_model import GenerativeBeamMapModel
from models.beam_map.training import TrajectoryData, recover_trajectory


def heldout_beam_error_db(model: GenerativeBeamMapModel, data: list[TrajectoryData], dynamic_range_db: float,
                          seed: int = 0) -> dict:
    """Returns {"rmse_db", "scored_samples", "samples"}. ``dynamic_range_db``: dB per unit of g (the measurement
    module's normalization)."""
    from radiomap_assets.domain.measurement import radio_map_from_positions

    rng = np.random.default_rng(seed)
    cells, g_kept, m_kept, held = [], [], [], []
    for d in data:
        m = np.asarray(d.m, dtype=bool).copy()
        rows = np.nonzero(m.any(axis=1))[0]
        entry = np.full(len(m), -1)
        for i in rows:  # one observed entry per sample, uniformly
            entry[i] = rng.choice(np.nonzero(m[i])[0])
        value = np.where(entry >= 0, d.g[np.arange(len(m)), np.maximum(entry, 0)], np.nan)
        m[rows, entry[rows]] = False
        g = np.where(m, d.g, 0.0).astype(np.float32)
        _, c = recover_trajectory(model, g, m)
        cells.append(c)
        g_kept.append(g)
        m_kept.append(m)
        held.append((entry, value))
    radio_map, _ = radio_map_from_positions(cells, g_kept, m_kept, model.codebook.num_cells)  # (K, N), NaN unseen
    errors = []
    for c, (entry, value) in zip(cells, held):
        ok = entry >= 0
        predicted = radio_map[c[ok], entry[ok]]
        errors.append((predicted - value[ok])[np.isfinite(predicted)])
    err = np.concatenate(errors) if errors else np.zeros(0)
    samples = sum(len(d) for d in data)
    return {"rmse_db": float(np.sqrt(np.mean(err ** 2)) * dynamic_range_db) if err.size else float("nan"),
            "scored_samples": int(err.size), "samples": int(samples)}
