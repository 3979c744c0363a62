"""A data set of the wrong shape is refused in words that name what is wrong, before any fitting."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.config import StudyConfig
from search_engine.optimizer import Optimizer, propose
from search_engine.setups import study_config
from tests.engine.conftest import zdt1


def _config() -> StudyConfig:
    return study_config("zdt1", "hytnas", budget=80, n_init=50, batch_size=5, n_var=4)


def _data(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).random((n, 4))
    return X, zdt1(X)


def test_propose_names_the_objective_columns_when_y_has_one_too_many() -> None:
    X, Y = _data()
    Y3 = np.column_stack([Y, Y[:, 0]])
    with pytest.raises(
        ValueError, match=r"Y has 3 columns but the study has 2 objectives \(f1, f2\)"
    ) as raised:
        propose(_config(), X, Y3, seed=0)
    assert "rows" not in str(raised.value)


def test_tell_names_the_objective_columns_when_y_has_one_too_many() -> None:
    X, Y = _data()
    optimizer = Optimizer(_config())
    with pytest.raises(ValueError, match=r"Y has 3 columns but the study has 2 objectives"):
        optimizer.tell(X, np.column_stack([Y, Y[:, 1]]))
    assert optimizer.n_evaluated == 0


def test_x_of_another_width_than_the_space_is_refused_as_such() -> None:
    X, Y = _data()
    with pytest.raises(ValueError, match=r"X has 5 columns but the space has 4 variables"):
        Optimizer(_config()).tell(np.column_stack([X, X[:, 0]]), Y)


def test_row_counts_that_differ_are_still_reported_as_rows() -> None:
    X, Y = _data()
    with pytest.raises(ValueError, match=r"X has 50 rows but Y has 49"):
        propose(_config(), X, Y[:49], seed=0)


def test_one_point_given_as_flat_values_is_still_taken() -> None:
    X, Y = _data()
    optimizer = Optimizer(_config())
    optimizer.tell(X[:49], Y[:49])
    optimizer.tell(X[49], Y[49])
    assert optimizer.n_evaluated == 50
    np.testing.assert_allclose(optimizer.Y[-1], Y[49])
    proposal = optimizer.ask(5)
    assert len(proposal) == 5
