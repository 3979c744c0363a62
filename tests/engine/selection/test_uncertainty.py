"""Uncertainty selection: largest predicted std, each objective scaled by its spread."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.registry import SELECTORS
from search_engine.selection.base import SelectionInput
from search_engine.selection.uncertainty import UncertaintySelector


def _input(mean: np.ndarray, std: np.ndarray | None, Y_measured: np.ndarray | None = None) -> SelectionInput:
    measured = np.empty((0, mean.shape[1])) if Y_measured is None else Y_measured
    return SelectionInput(
        X=np.zeros((mean.shape[0], 3)),
        mean=mean,
        std=std,
        Y_measured=measured,
        ref_point=np.full(mean.shape[1], 10.0),
    )


def test_uncertainty_is_built_from_the_registry_and_needs_std() -> None:
    selector = SELECTORS.build("uncertainty")
    assert isinstance(selector, UncertaintySelector)
    assert selector.capabilities()["needs_std"] is True


def test_uncertainty_picks_the_largest_std_first() -> None:
    mean = np.array([[0.0], [1.0], [2.0], [3.0]])
    std = np.array([[0.1], [0.9], [0.5], [0.3]])
    picks = UncertaintySelector().select(_input(mean, std), 3, np.random.default_rng(0))
    assert picks.tolist() == [1, 2, 3]


def test_uncertainty_scales_each_objective_by_its_spread() -> None:
    # Objective 0 spans 1 unit, objective 1 spans 1000: a std of 0.5 in the first outweighs 100 in the second.
    mean = np.array([[0.0, 0.0], [1.0, 1000.0], [0.5, 500.0]])
    std = np.array([[0.5, 0.0], [0.0, 100.0], [0.0, 0.0]])
    picks = UncertaintySelector().select(_input(mean, std), 2, np.random.default_rng(0))
    assert picks.tolist() == [0, 1]


def test_uncertainty_spread_includes_measured_values() -> None:
    mean = np.array([[0.0, 0.0], [1.0, 1.0]])
    std = np.array([[0.4, 0.0], [0.0, 0.5]])
    # The measurements stretch objective 0 to a spread of 100, making its std small next to objective 1's.
    measured = np.array([[100.0, 0.0]])
    picks = UncertaintySelector().select(_input(mean, std, measured), 1, np.random.default_rng(0))
    assert picks.tolist() == [1]


def test_uncertainty_breaks_ties_by_index_and_returns_distinct_picks() -> None:
    mean = np.zeros((5, 2))
    std = np.ones((5, 2))
    picks = UncertaintySelector().select(_input(mean, std), 5, np.random.default_rng(0))
    assert picks.tolist() == [0, 1, 2, 3, 4]


def test_uncertainty_refuses_candidates_without_std() -> None:
    with pytest.raises(ValueError, match="std"):
        UncertaintySelector().select(_input(np.zeros((3, 1)), None), 2, np.random.default_rng(0))
