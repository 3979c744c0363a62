"""XGBoost regressor surrogate: ranking quality on ZDT1, boosters, seeding, constant objectives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from search_engine.registry import SURROGATES
from search_engine.surrogates.xgb import XGBSurrogate
from tests.engine.conftest import zdt1


def test_xgboost_ranks_held_out_zdt1_points_well(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data  # 40 training points
    surrogate = SURROGATES.build("xgboost")
    surrogate.fit(X, Y, np.random.default_rng(0))
    X_new = np.random.default_rng(7).random((300, X.shape[1]))
    mean, std = surrogate.predict(X_new)
    assert mean.shape == (300, 2) and std is None
    for column in range(2):
        assert kendalltau(mean[:, column], zdt1(X_new)[:, column])[0] > 0.5


@pytest.mark.parametrize("booster", ["gbtree", "dart", "gblinear"])
def test_xgboost_every_booster_fits_and_repeats_itself(
    booster: str, zdt1_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, Y = zdt1_data
    X_new = np.random.default_rng(8).random((20, X.shape[1]))
    means = []
    for _ in range(2):
        surrogate = XGBSurrogate(booster=booster, subsample=0.8)
        surrogate.fit(X, Y, np.random.default_rng(1))
        mean, _ = surrogate.predict(X_new)
        assert mean.shape == (20, 2) and np.all(np.isfinite(mean))
        means.append(mean)
    np.testing.assert_array_equal(means[0], means[1])


def test_xgboost_gblinear_is_a_linear_model() -> None:
    """The midpoint of two points predicts the mean of their predictions; trees would not."""
    X = np.random.default_rng(2).random((50, 3))
    y = 2.0 * X[:, 0] - X[:, 1] + np.sin(6.0 * X[:, 2])
    a, b = np.random.default_rng(3).random((2, 10, 3))
    predictions = {}
    for booster in ("gblinear", "gbtree"):
        surrogate = XGBSurrogate(booster=booster)
        surrogate.fit(X, y, np.random.default_rng(4))
        predictions[booster] = [surrogate.predict(points)[0] for points in (a, b, (a + b) / 2.0)]
    at_a, at_b, at_mid = predictions["gblinear"]
    np.testing.assert_allclose(at_mid, (at_a + at_b) / 2.0, atol=1e-5)
    at_a, at_b, at_mid = predictions["gbtree"]
    assert not np.allclose(at_mid, (at_a + at_b) / 2.0, atol=1e-2)


def test_xgboost_seed_matters_when_rows_are_subsampled(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    means = []
    for seed in (5, 6):
        surrogate = XGBSurrogate(subsample=0.5)
        surrogate.fit(X, Y, np.random.default_rng(seed))
        means.append(surrogate.predict(X)[0])
    assert not np.allclose(means[0], means[1])


def test_xgboost_constant_objective_predicts_the_constant(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    Y = np.column_stack([Y[:, 0], np.full(X.shape[0], -2.5)])
    surrogate = XGBSurrogate()
    surrogate.fit(X, Y, np.random.default_rng(0))
    mean, _ = surrogate.predict(np.random.default_rng(9).random((6, X.shape[1])))
    np.testing.assert_array_equal(mean[:, 1], -2.5)


def test_xgboost_predicts_an_empty_batch(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    surrogate = XGBSurrogate()
    surrogate.fit(X, Y, np.random.default_rng(0))
    mean, _ = surrogate.predict(np.empty((0, X.shape[1])))
    assert mean.shape == (0, 2)


def test_xgboost_declares_values_without_std() -> None:
    assert XGBSurrogate.capabilities() == {"provides_std": False, "predicts_values": True}
