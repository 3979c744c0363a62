"""Fronts and hypervolume of a constrained study count the feasible points only."""

from __future__ import annotations

import numpy as np

from search_engine.metrics.charts import pareto_chart_data
from search_engine.metrics.hypervolume import hypervolume
from search_engine.metrics.pareto import feasible_pareto_mask
from search_engine.objectives import Objective

# Three points on a staircase and one, infeasible, that would dominate them all.
Y = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [0.5, 0.5]])
FEASIBLE = np.array([True, False, True, False])
REF = np.array([4.0, 4.0])


def test_feasible_hypervolume_matches_the_hand_computed_staircase() -> None:
    # all three staircase points: (2-1)(4-3) + (3-2)(4-2) + (4-3)(4-1) = 1 + 2 + 3 = 6
    assert hypervolume(Y[:3], REF) == 6.0
    # without the infeasible (2, 2) and (0.5, 0.5): (3-1)(4-3) + (4-3)(4-1) = 2 + 3 = 5
    assert hypervolume(Y, REF, FEASIBLE) == 5.0
    # unconstrained, (0.5, 0.5) alone dominates everything: 3.5 x 3.5
    assert hypervolume(Y, REF) == 12.25
    assert hypervolume(Y, REF, np.zeros(4, dtype=bool)) == 0.0


def test_an_infeasible_point_neither_joins_the_front_nor_pushes_a_feasible_one_off_it() -> None:
    assert feasible_pareto_mask(Y, FEASIBLE).tolist() == [True, False, True, False]
    assert feasible_pareto_mask(Y, None).tolist() == [False, False, False, True]


def test_the_chart_draws_the_feasible_front_and_marks_the_infeasible_points() -> None:
    data = pareto_chart_data(
        [10, 11, 12, 13], [0, 0, 1, 1], Y, (Objective("a"), Objective("b")), feasible=FEASIBLE
    )
    assert data.front_ids.tolist() == [10, 12]
    assert data.ids[data.infeasible].tolist() == [11, 13]
    nothing = pareto_chart_data(
        [1, 2], [0, 0], Y[:2], (Objective("a"), Objective("b")), feasible=np.zeros(2, bool)
    )
    assert nothing.front.shape == (0,) and nothing.infeasible.tolist() == [0, 1]
    assert pareto_chart_data([1, 2], [0, 0], Y[:2], (Objective("a"), Objective("b"))).infeasible.shape == (0,)
