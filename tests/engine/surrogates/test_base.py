"""The surrogate base class: an empty batch is answered once, for every surrogate, without the model."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.registry import SURROGATES
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array
from tests.engine import contracts


@pytest.mark.parametrize("key", SURROGATES.keys())
def test_every_surrogate_predicts_an_empty_batch_with_the_right_shapes(
    key: str, zdt1_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, Y = zdt1_data
    surrogate = contracts.build("surrogate", key)  # small settings: mix of xgboost + gp, few epochs
    surrogate.fit(X, Y, np.random.default_rng(0))
    mean, std = surrogate.predict(np.empty((0, X.shape[1])))
    assert mean.shape == (0, Y.shape[1]) and mean.dtype == np.float64
    if surrogate.provides_std:
        assert std is not None and std.shape == (0, Y.shape[1]) and std.dtype == np.float64
    else:
        assert std is None


class _Refusing(Surrogate):
    """Fits nothing and fails if its model is ever asked for a prediction."""

    provides_std = True

    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        pass

    def _predict(self, X: Array) -> tuple[Array, Array | None]:
        raise AssertionError("_predict was called")


def test_an_empty_batch_never_reaches_the_model() -> None:
    surrogate = _Refusing()
    surrogate.fit(np.zeros((3, 4)), np.zeros((3, 2)), np.random.default_rng(0))
    mean, std = surrogate.predict(np.empty((0, 4)))
    assert mean.shape == (0, 2) and std is not None and std.shape == (0, 2)
    with pytest.raises(AssertionError, match="_predict was called"):
        surrogate.predict(np.zeros((1, 4)))
