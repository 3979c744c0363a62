"""ParEGO: the augmented Chebyshev scalarisation, its population size and optimisation on ZDT1."""

from __future__ import annotations

import moocore
import numpy as np
import pytest

from search_engine.solvers.base import SurrogateProblem
from search_engine.solvers.parego import ParEGOSolver, augmented_chebyshev
from search_engine.spaces.generic import GenericSpace
from tests.engine.conftest import zdt1

CUBE_5 = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(5)])


def test_augmented_chebyshev_matches_a_hand_computed_case() -> None:
    F = np.array([[0.2, 0.6], [0.5, 0.5]])
    # Row 0: max(0.1, 0.3) + 0.05 * 0.4 = 0.32. Row 1: max(0.25, 0.25) + 0.05 * 0.5 = 0.275.
    assert np.allclose(augmented_chebyshev(F, np.array([0.5, 0.5]), 0.05), [0.32, 0.275])


def test_augmented_chebyshev_reaches_a_point_in_a_concave_dent_that_no_weighted_sum_prefers() -> None:
    # (0.6, 0.6) is Pareto-optimal but above the segment joining (0, 1) and (1, 0), so every
    # weighted sum prefers an end point; Chebyshev with equal weights picks it.
    F = np.array([[0.0, 1.0], [0.6, 0.6], [1.0, 0.0]])
    weights = np.array([0.5, 0.5])
    assert np.argmin(augmented_chebyshev(F, weights, 0.05)) == 1
    for w in np.linspace(0.0, 1.0, 11):
        assert np.argmin(F @ np.array([w, 1.0 - w])) != 1


def test_population_size_is_runs_times_individuals_per_run() -> None:
    assert ParEGOSolver(n_weights=4, pop_size=15).population_size == 60


def test_parego_improves_the_zdt1_hypervolume_of_its_random_start() -> None:
    initial = np.random.default_rng(0).random((100, 5))
    problem = SurrogateProblem(5, 2, zdt1, CUBE_5.canonicalize)
    X = ParEGOSolver().solve(problem, initial, np.random.default_rng(0))
    ref = [1.1, 11.0]
    assert moocore.hypervolume(zdt1(X), ref=ref) > moocore.hypervolume(zdt1(initial), ref=ref) + 1.0


@pytest.mark.parametrize("n_weights", [1, 6])
def test_parego_returns_at_most_its_population_of_distinct_points(n_weights: int) -> None:
    solver = ParEGOSolver(n_weights=n_weights, pop_size=6, n_gen=4)
    problem = SurrogateProblem(5, 2, zdt1, CUBE_5.canonicalize)
    X = solver.solve(problem, np.empty((0, 5)), np.random.default_rng(1))
    assert 6 <= X.shape[0] <= solver.population_size
    assert len(np.unique(X, axis=0)) == X.shape[0]
