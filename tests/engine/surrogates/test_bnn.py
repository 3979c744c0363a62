"""Bayesian neural network surrogate: values in units, seeded sampling, both inference methods."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from search_engine.surrogates.bnn import BNNSurrogate
from tests.engine.conftest import zdt1

torch = pytest.importorskip("torch")

METHODS = ["mc-dropout", "variational"]


@pytest.mark.parametrize("method", METHODS)
def test_bnn_predicts_held_out_zdt1_values(method: str, zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    bnn = BNNSurrogate(method=method, epochs=300)
    bnn.fit(X, Y, np.random.default_rng(0))
    X_new = np.random.default_rng(7).random((200, X.shape[1]))
    mean, std = bnn.predict(X_new)
    truth = zdt1(X_new)
    assert mean.shape == std.shape == (200, 2)
    assert np.all(std >= 0) and np.all(std.max(axis=0) > 0)
    for column in range(2):
        assert kendalltau(mean[:, column], truth[:, column])[0] > 0.8
        # Values, not scores: the error is small next to the objective's spread.
        assert np.mean(np.abs(mean[:, column] - truth[:, column])) < 0.25 * truth[:, column].std()


@pytest.mark.parametrize("method", METHODS)
def test_bnn_predictions_are_repeatable_and_independent_of_the_batch(
    method: str, zdt1_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, Y = zdt1_data
    X_new = np.random.default_rng(8).random((12, X.shape[1]))
    first = BNNSurrogate(method=method, epochs=50)
    first.fit(X, Y, np.random.default_rng(1))
    second = BNNSurrogate(method=method, epochs=50)
    second.fit(X, Y, np.random.default_rng(1))
    mean, std = first.predict(X_new)
    for other_mean, other_std in (first.predict(X_new), second.predict(X_new)):
        np.testing.assert_array_equal(other_mean, mean)
        np.testing.assert_array_equal(other_std, std)
    part_mean, part_std = first.predict(X_new[:4])  # each sample is one network for all points
    np.testing.assert_allclose(part_mean, mean[:4], rtol=1e-6)
    np.testing.assert_allclose(part_std, std[:4], rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_bnn_maps_predictions_back_to_the_objective_units(
    method: str, zdt1_data: tuple[np.ndarray, np.ndarray]
) -> None:
    """Training sees standardised targets, so an affine change of units changes only the units."""
    X, Y = zdt1_data
    X_new = np.random.default_rng(9).random((10, X.shape[1]))
    predictions = []
    for targets in (Y, 1000.0 * Y + 5e4):
        bnn = BNNSurrogate(method=method, epochs=50)
        bnn.fit(X, targets, np.random.default_rng(2))
        predictions.append(bnn.predict(X_new))
    (mean, std), (mean_scaled, std_scaled) = predictions
    np.testing.assert_allclose(mean_scaled, 1000.0 * mean + 5e4, rtol=1e-4)
    np.testing.assert_allclose(std_scaled, 1000.0 * std, rtol=1e-2, atol=1e-3)


def test_bnn_other_seed_other_predictions(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    means = []
    for seed in (3, 4):
        bnn = BNNSurrogate(epochs=50)
        bnn.fit(X, Y, np.random.default_rng(seed))
        means.append(bnn.predict(X)[0])
    assert not np.allclose(means[0], means[1])


@pytest.mark.parametrize("method", METHODS)
def test_bnn_leaves_torch_global_state_alone(method: str, zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    rng_state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    bnn = BNNSurrogate(method=method, epochs=10)
    bnn.fit(X, Y, np.random.default_rng(0))
    bnn.predict(X)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads


def test_bnn_constant_objective_predicts_the_constant(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    bnn = BNNSurrogate(epochs=10)
    bnn.fit(X, np.column_stack([np.full(X.shape[0], -1.5), Y[:, 1]]), np.random.default_rng(0))
    mean, std = bnn.predict(X[:5])
    assert std is not None
    np.testing.assert_array_equal(mean[:, 0], -1.5)
    np.testing.assert_array_equal(std[:, 0], 0.0)


def test_bnn_declares_std_and_values() -> None:
    assert BNNSurrogate.capabilities() == {"provides_std": True, "predicts_values": True}
