"""The tracking prior of the declared variant ``proposed_tracked`` (models.beam_map.tracking): fast, no Dagster."""

import numpy as np
import pytest

from models.baselines.floors import cv_smoother
from models.beam_map.tracking import TrackNoise, track_with_prior


def _walk(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.1
    truth = np.stack([t * 1.0, 5.0 * np.sin(t / 30.0)], axis=1)  # 1 m/s, gently curving
    coarse = truth + rng.normal(0, 20.0, truth.shape)
    return t, truth, coarse, rng


def _err(xy, truth):
    return float(np.linalg.norm(xy - truth, axis=1).mean())


def test_an_informative_model_pulls_the_track_below_the_coarse_only_smoother():
    t, truth, coarse, rng = _walk()
    model = truth + rng.normal(0, 2.0, truth.shape)  # a model that knows where the radio map puts each sample
    fused, noise = track_with_prior(t, coarse, model)
    assert _err(fused, truth) < 0.7 * _err(cv_smoother(t, coarse), truth)
    assert noise.model_variance_m2 < 20.0  # the residual against the coarse smoother finds the model precise
    assert abs(noise.model_error_variance_m2 - 4.0) < 1.5 and noise.correlation_samples < 2.0  # white, σ = 2 m


def test_an_uninformative_model_leaves_the_coarse_only_smoother_about_unchanged():
    t, truth, coarse, _ = _walk(1)
    model = np.zeros_like(coarse) + coarse.mean(axis=0)  # says nothing about where the user is
    fused, noise = track_with_prior(t, coarse, model)
    assert _err(fused, truth) < 1.5 * _err(cv_smoother(t, coarse), truth) + 0.5
    assert noise.model_variance_m2 >= 1e3


def test_a_model_whose_error_is_correlated_in_time_is_weighted_as_fewer_independent_measurements():
    t, truth, coarse, rng = _walk(2)
    a = np.exp(-1.0 / 25.0)  # AR(1) error, 25-sample (2.5 s) correlation, 3 m std per axis
    e = np.zeros_like(truth)
    for k in range(1, len(t)):
        e[k] = a * e[k - 1] + np.sqrt(1 - a * a) * rng.normal(0, 3.0, 2)
    e[0] = rng.normal(0, 3.0, 2)
    fused, noise = track_with_prior(t, coarse, truth + e)
    assert 20.0 < noise.correlation_samples < 100.0  # about 1 + 2 Σ a^k = 49
    assert noise.model_variance_m2 > 10.0 * noise.model_error_variance_m2
    white, _ = track_with_prior(t, coarse, truth + e,
                                TrackNoise(noise.coarse, noise.model_error_variance_m2))  # treated as white
    assert _err(fused, truth) < _err(white, truth) and _err(fused, truth) < _err(cv_smoother(t, coarse), truth)


def test_mismatched_inputs_are_refused():
    t, truth, coarse, _ = _walk()
    with pytest.raises(ValueError, match="must match"):
        track_with_prior(t, coarse, coarse[:-1])
