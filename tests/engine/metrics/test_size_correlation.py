"""A signal's rank correlation with the parameter count: Spearman's rho over the finite rows."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.metrics.size_correlation import size_correlation


def test_rho_is_one_for_a_monotone_signal_and_minus_one_for_a_reversed_one() -> None:
    params = np.array([1e5, 4e5, 2e5, 9e5])
    assert size_correlation(np.log(params), params).spearman_rho == pytest.approx(1.0)
    assert size_correlation(-params, params).spearman_rho == pytest.approx(-1.0)


def test_rho_matches_the_hand_computed_rank_formula() -> None:
    # ranks of x: 1 2 3 4 5, of y: 2 1 4 3 5; sum d^2 = 4; rho = 1 - 6 * 4 / (5 * 24) = 0.8
    x, y = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([20.0, 10.0, 40.0, 30.0, 50.0])
    result = size_correlation(x, y)
    assert result.n == 5 and result.spearman_rho == pytest.approx(0.8)


def test_rows_missing_a_value_are_left_out_and_too_few_rows_give_no_figure() -> None:
    x = np.array([1.0, np.nan, 3.0, 2.0, np.inf])
    y = np.array([10.0, 20.0, 30.0, np.nan, 50.0])
    result = size_correlation(x, y)
    assert (result.n, result.spearman_rho) == (2, None)  # (1, 10) and (3, 30): too few to say
    assert size_correlation(np.ones(5), np.arange(5.0)).spearman_rho is None  # a constant signal
    with pytest.raises(ValueError):
        size_correlation(np.ones(3), np.ones(4))
