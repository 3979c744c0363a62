"""Surrogate fidelity per objective: rank correlations and errors on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_engine.metrics.fidelity import surrogate_fidelity


def test_perfect_predictions_have_unit_correlations_and_no_error() -> None:
    Y = np.array([[1.0, 5.0], [2.0, 4.0], [3.0, 9.0], [4.0, 1.0]])
    for fidelity in surrogate_fidelity(Y, Y):
        assert fidelity.n == 4
        assert fidelity.kendall_tau == pytest.approx(1.0)
        assert fidelity.spearman_rho == pytest.approx(1.0)
        assert fidelity.rmse == 0.0 and fidelity.mae == 0.0


def test_one_swapped_pair_gives_hand_computed_tau_and_rho() -> None:
    predicted = np.array([[1.0], [2.0], [3.0], [4.0]])
    measured = np.array([[1.0], [3.0], [2.0], [4.0]])
    (fidelity,) = surrogate_fidelity(predicted, measured)
    # 5 concordant and 1 discordant pair of 6: tau = 4/6.
    # Rank differences (0, 1, -1, 0): rho = 1 - 6*2/(4*15).
    assert fidelity.kendall_tau == pytest.approx(2.0 / 3.0)
    assert fidelity.spearman_rho == pytest.approx(0.8)


def test_reversed_order_gives_minus_one() -> None:
    (fidelity,) = surrogate_fidelity(np.array([[1.0], [2.0], [3.0]]), np.array([[9.0], [5.0], [1.0]]))
    assert fidelity.kendall_tau == pytest.approx(-1.0)
    assert fidelity.spearman_rho == pytest.approx(-1.0)


def test_rmse_and_mae_are_hand_computed() -> None:
    (fidelity,) = surrogate_fidelity(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [5.0]]))
    assert fidelity.rmse == pytest.approx(math.sqrt(4.0 / 3.0))
    assert fidelity.mae == pytest.approx(2.0 / 3.0)


def test_constant_column_gives_none_correlations_not_nan() -> None:
    predicted = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    measured = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    constant_prediction, constant_measurement = surrogate_fidelity(predicted, measured)
    for fidelity in (constant_prediction, constant_measurement):
        assert fidelity.kendall_tau is None and fidelity.spearman_rho is None
        assert fidelity.rmse is not None
    assert not any(isinstance(v, float) and math.isnan(v) for v in constant_prediction.to_dict().values())


def test_fewer_than_two_pairs_give_none_correlations() -> None:
    (one,) = surrogate_fidelity(np.array([[1.0]]), np.array([[2.0]]))
    assert one.n == 1 and one.kendall_tau is None and one.spearman_rho is None
    assert one.mae == pytest.approx(1.0)
    (none,) = surrogate_fidelity(np.empty((0, 1)), np.empty((0, 1)))
    assert none == none.__class__(n=0, kendall_tau=None, spearman_rho=None, rmse=None, mae=None)


def test_non_finite_rows_are_skipped_per_objective() -> None:
    predicted = np.array([[1.0, 1.0], [2.0, np.nan], [3.0, 3.0], [4.0, 4.0]])
    measured = np.array([[1.0, 1.0], [2.0, 2.0], [np.inf, 3.0], [4.0, 4.0]])
    first, second = surrogate_fidelity(predicted, measured)
    assert first.n == 3 and second.n == 3
    assert first.rmse == 0.0 and second.rmse == 0.0
    assert first.kendall_tau == pytest.approx(1.0)


def test_rank_scores_get_no_errors_in_units() -> None:
    (fidelity,) = surrogate_fidelity(
        np.array([[0.1], [0.2], [0.3]]), np.array([[10.0], [20.0], [30.0]]), values=False
    )
    assert fidelity.rmse is None and fidelity.mae is None
    assert fidelity.kendall_tau == pytest.approx(1.0)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="same 2-D shape"):
        surrogate_fidelity(np.zeros((3, 2)), np.zeros((3, 1)))
