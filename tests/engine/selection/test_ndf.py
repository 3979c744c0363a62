"""NDF selection: whole predicted fronts in order, the last one thinned by crowding distance."""

from __future__ import annotations

import numpy as np

from search_engine.metrics.pareto import non_dominated_ranks
from search_engine.registry import SELECTORS
from search_engine.selection.ndf import NDFSelector
from tests.engine.selection.inputs import predictions_only


def test_ndf_is_built_from_the_registry_and_accepts_rank_scores() -> None:
    selector = SELECTORS.build("ndf")
    assert isinstance(selector, NDFSelector)
    assert selector.capabilities() == {"needs_values": False, "needs_std": False}


def test_ndf_takes_the_first_front_whole_before_the_second() -> None:
    first_front = [[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]]
    second_front = [[1.0, 4.0], [4.0, 1.0], [2.5, 2.5]]
    mean = np.array(second_front + first_front)
    picks = NDFSelector().select(predictions_only(mean), 5, np.random.default_rng(0))
    assert sorted(picks[:4].tolist()) == [3, 4, 5, 6]
    assert picks[4] in (0, 1, 2)


def test_ndf_thins_the_front_that_does_not_fit_by_crowding_distance() -> None:
    # Points along a line: 0, 1, 1.1, 2, 3 in f1. Keeping 4 drops one of the crowded pair (1, 1.1).
    f1 = np.array([0.0, 1.0, 1.1, 2.0, 3.0])
    mean = np.column_stack([f1, 3.0 - f1])
    picks = NDFSelector().select(predictions_only(mean), 4, np.random.default_rng(0))
    assert set(picks.tolist()) in ({0, 1, 3, 4}, {0, 2, 3, 4})
    # The extremes have infinite crowding distance and come first.
    assert set(picks[:2].tolist()) == {0, 4}


def test_ndf_thinning_keeps_the_spread_of_a_dense_front() -> None:
    f1 = np.concatenate([np.linspace(0.0, 0.1, 8), [0.5, 1.0]])
    mean = np.column_stack([f1, 1.0 - f1])
    picks = NDFSelector().select(predictions_only(mean), 4, np.random.default_rng(0))
    chosen = set(picks.tolist())
    assert {0, 8, 9} <= chosen  # both extremes and the lone middle point survive
    assert len(chosen & set(range(1, 8))) == 1


def test_ndf_never_picks_a_worse_front_while_a_better_one_has_room() -> None:
    mean = np.random.default_rng(4).random((40, 2))
    picks = NDFSelector().select(predictions_only(mean), 15, np.random.default_rng(0))
    ranks = non_dominated_ranks(mean)
    assert np.all(np.diff(ranks[picks]) >= 0)
    left_out = np.setdiff1d(np.arange(40), picks)
    assert ranks[left_out].min() >= ranks[picks].max()


def test_ndf_is_deterministic_and_returns_distinct_picks() -> None:
    mean = np.random.default_rng(5).integers(0, 4, size=(30, 3)).astype(float)
    first = NDFSelector().select(predictions_only(mean), 12, np.random.default_rng(1))
    second = NDFSelector().select(predictions_only(mean), 12, np.random.default_rng(2))
    assert first.tolist() == second.tolist()
    assert np.unique(first).shape == (12,)
