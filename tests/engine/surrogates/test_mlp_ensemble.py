"""MLP ensemble surrogate (margin ranking loss): ordering, member spread, seeding, torch state."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from search_engine.registry import SURROGATES
from search_engine.surrogates.mlp_ensemble import MLPEnsembleSurrogate
from tests.engine.conftest import zdt1

torch = pytest.importorskip("torch")


def test_mlp_ensemble_orders_held_out_zdt1_points(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    surrogate = SURROGATES.build("mlp-ensemble")
    surrogate.fit(X, Y, np.random.default_rng(0))
    X_new = np.random.default_rng(7).random((300, X.shape[1]))
    scores, std = surrogate.predict(X_new)
    assert scores.shape == std.shape == (300, 2)
    assert np.all(std >= 0) and np.all(std.max(axis=0) > 0)  # members disagree somewhere
    for column in range(2):
        assert kendalltau(scores[:, column], zdt1(X_new)[:, column])[0] > 0.8


def test_mlp_ensemble_scores_are_standardised_on_the_training_points(
    zdt1_data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Each member is centred and scaled on the training points, so their average is centred too."""
    X, Y = zdt1_data
    surrogate = MLPEnsembleSurrogate(n_members=3, epochs=50)
    surrogate.fit(X, 1000.0 * Y, np.random.default_rng(1))
    scores, _ = surrogate.predict(X)
    np.testing.assert_allclose(scores.mean(axis=0), 0.0, atol=1e-5)
    assert np.all((scores.std(axis=0) > 0.5) & (scores.std(axis=0) <= 1.0 + 1e-5))


def test_mlp_ensemble_orders_values_closer_than_float32_resolution() -> None:
    """Latencies near 1e8 that differ by less than float32's spacing there (8) still have an order."""
    X = np.random.default_rng(4).random((40, 2))
    y = 1e8 + X[:, 0]
    surrogate = MLPEnsembleSurrogate(n_members=2, epochs=100)
    surrogate.fit(X, y, np.random.default_rng(5))
    X_new = np.random.default_rng(6).random((100, 2))
    scores, _ = surrogate.predict(X_new)
    assert kendalltau(scores[:, 0], X_new[:, 0])[0] > 0.8


def test_mlp_ensemble_same_seed_same_scores_other_seed_other_scores(
    zdt1_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, Y = zdt1_data
    X_new = np.random.default_rng(8).random((10, X.shape[1]))
    runs = []
    for seed in (2, 2, 3):
        surrogate = MLPEnsembleSurrogate(n_members=3, epochs=50)
        surrogate.fit(X, Y, np.random.default_rng(seed))
        runs.append(surrogate.predict(X_new))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.allclose(runs[0][0], runs[2][0])


def test_mlp_ensemble_leaves_torch_global_state_alone(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    rng_state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    surrogate = MLPEnsembleSurrogate(n_members=2, epochs=10, n_threads=1)
    surrogate.fit(X, Y, np.random.default_rng(0))
    surrogate.predict(X)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads


def test_mlp_ensemble_constant_objective_predicts_the_constant(
    zdt1_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, Y = zdt1_data
    surrogate = MLPEnsembleSurrogate(n_members=2, epochs=10)
    surrogate.fit(X, np.column_stack([Y[:, 0], np.full(X.shape[0], 4.0)]), np.random.default_rng(0))
    scores, std = surrogate.predict(X[:5])
    assert std is not None
    np.testing.assert_array_equal(scores[:, 1], 4.0)
    np.testing.assert_array_equal(std[:, 1], 0.0)


def test_mlp_ensemble_declares_std_and_scores() -> None:
    assert MLPEnsembleSurrogate.capabilities() == {"provides_std": True, "predicts_values": False}
