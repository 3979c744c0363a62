"""Subset-of-data GP: unchanged up to ``max_condition_points``, bounded and front-faithful past it."""

from __future__ import annotations

import numpy as np

from search_engine.metrics.pareto import pareto_mask
from search_engine.surrogates.gp import GPSurrogate, conditioning_subset
from tests.engine.conftest import zdt1


def _zdt1_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).random((n, 4))  # (n, 4)
    return X, zdt1(X)


def _fitted(X: np.ndarray, Y: np.ndarray, **params: object) -> GPSurrogate:
    gp = GPSurrogate(max_fit_points=60, **params)  # type: ignore[arg-type]
    gp.fit(X, Y, np.random.default_rng(3))
    return gp


def test_gp_at_or_below_the_threshold_predicts_bit_for_bit_as_without_one() -> None:
    X, Y = _zdt1_data(120, seed=1)
    X_new = np.random.default_rng(2).random((50, 4))
    unbounded = _fitted(X, Y, max_condition_points=20000)
    for threshold in (120, 500):  # exactly at the data size, and above it
        gp = _fitted(X, Y, max_condition_points=threshold)
        assert gp.n_conditioned == 120
        mean, std = gp.predict(X_new)
        reference_mean, reference_std = unbounded.predict(X_new)
        np.testing.assert_array_equal(mean, reference_mean)
        np.testing.assert_array_equal(std, reference_std)


def test_gp_past_the_threshold_conditions_on_a_bounded_subset() -> None:
    X, Y = _zdt1_data(400, seed=4)
    gp = _fitted(X, Y, max_condition_points=100)
    assert gp.n_conditioned == 100
    assert all(model.X.shape[0] == 100 for model in gp._models)  # the Cholesky is 100 x 100
    mean, std = gp.predict(X)
    assert mean.shape == (400, 2) and std is not None and np.all(std >= 0)


def test_gp_past_the_threshold_still_predicts_the_measured_front() -> None:
    X, Y = _zdt1_data(400, seed=5)
    front = pareto_mask(Y)  # a few dozen points, all inside the front share of 50
    assert 0 < front.sum() <= 50
    gp = _fitted(X, Y, max_condition_points=100)
    mean, std = gp.predict(X[front])
    assert std is not None
    np.testing.assert_allclose(mean, Y[front], atol=1e-2 * float(np.ptp(Y[:, 1])))
    assert np.all(std < 0.05 * Y.std(axis=0))  # resolved: far below the prior's spread


def test_conditioning_subset_keeps_the_best_ranks_and_samples_the_rest() -> None:
    Y = zdt1(np.random.default_rng(6).random((300, 4)))
    keep = conditioning_subset(Y, 80, 0.5, np.random.default_rng(7))
    assert keep.shape == (80,) and np.unique(keep).shape == (80,)
    assert np.all(np.diff(keep) > 0)
    assert set(np.flatnonzero(pareto_mask(Y))) <= set(keep.tolist())
    again = conditioning_subset(Y, 80, 0.5, np.random.default_rng(7))
    np.testing.assert_array_equal(keep, again)


def test_gp_past_the_threshold_is_deterministic_for_a_seed() -> None:
    X, Y = _zdt1_data(300, seed=8)
    X_new = np.random.default_rng(9).random((20, 4))
    first = _fitted(X, Y, max_condition_points=80).predict(X_new)
    second = _fitted(X, Y, max_condition_points=80).predict(X_new)
    np.testing.assert_array_equal(first[0], second[0])
