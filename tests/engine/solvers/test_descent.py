"""Common gradient descent from a solver's final points: onto the front, never worse, feasible, distinct."""

from __future__ import annotations

from typing import Any

import numpy as np

from search_engine.metrics.pareto import non_dominated_ranks
from search_engine.solvers.base import SurrogateProblem
from search_engine.solvers.descent import descend
from search_engine.solvers.nsga2 import NSGA2Solver
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.conftest import zdt1


def _dtlz2(X: np.ndarray) -> np.ndarray:
    """3-objective DTLZ2: its Pareto set has every distance variable (the third on) at 0.5."""
    g = ((X[:, 2:] - 0.5) ** 2).sum(axis=1)
    a, b = X[:, 0] * np.pi / 2, X[:, 1] * np.pi / 2
    values: np.ndarray = (1 + g)[:, None] * np.column_stack(
        [np.cos(a) * np.cos(b), np.cos(a) * np.sin(b), np.sin(a)]
    )
    return values


def _cube(n_vars: int) -> GenericSpace:
    variables: list[Any] = [
        {"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(n_vars)
    ]
    return GenericSpace(variables)


def test_descent_reaches_a_pareto_set_on_a_face_of_the_cube_exactly() -> None:
    # ZDT1's Pareto set is x1..x9 = 0, a face crossover and mutation almost never land on.
    space = _cube(10)
    problem = SurrogateProblem(10, 2, zdt1, space.canonicalize)
    # A solver's final points are near its front: here g = 1 + 9 mean(x1..x9) is up to 1.045.
    X = np.random.default_rng(0).uniform(0.0, 0.01, (40, 10))
    X[:, 0] = np.linspace(0.2, 0.95, 40)  # f1 = x0, spread along the front
    descended = descend(problem, X, 20)
    on_face = np.all(descended[:, 1:] == 0.0, axis=1)
    assert on_face.mean() >= 0.8, f"{on_face.sum()} of 40 points on the Pareto set"
    assert np.all(non_dominated_ranks(zdt1(descended)) == 0)
    # Every objective falls at every step, so f1 = x0 does too, but from this near the front by
    # little: the spread along it is kept.
    assert np.abs(descended[:, 0] - X[:, 0]).max() < 0.1


def test_points_that_would_meet_at_one_end_of_the_front_stay_distinct() -> None:
    # Points on the edge f1 = 0 (x0 = 0) all descend towards the front's end, (0, ..., 0).
    space = _cube(5)
    problem = SurrogateProblem(5, 2, zdt1, space.canonicalize)
    X = np.random.default_rng(6).random((20, 5))
    X[:, 0] = 0.0
    descended = descend(problem, X, 20)
    assert np.unique(descended, axis=0).shape[0] == 20
    assert np.all(zdt1(descended)[:, 1] <= zdt1(X)[:, 1])
    assert np.sum(np.all(descended == 0.0, axis=1)) == 1  # one of them reached the end


def test_no_objective_rises_at_any_point() -> None:
    rng = np.random.default_rng(1)
    for n_objectives, function in ((2, zdt1), (3, _dtlz2)):
        problem = SurrogateProblem(8, n_objectives, function, _cube(8).canonicalize)
        X = rng.random((50, 8))
        descended = descend(problem, X, 10)
        assert np.all(function(descended) <= function(X) + 1e-12)
        assert np.mean(np.all(function(descended) < function(X), axis=1)) > 0.9


def test_descent_reaches_an_interior_pareto_set_with_three_objectives() -> None:
    problem = SurrogateProblem(7, 3, _dtlz2, _cube(7).canonicalize)
    X = np.random.default_rng(2).random((60, 7))
    descended = descend(problem, X, 30)
    assert np.median(np.abs(descended[:, 2:] - 0.5)) < 0.01
    assert np.median(np.abs(X[:, 2:] - 0.5)) > 0.2
    # The descent moves towards the front, not along it: the position variables stay spread.
    assert np.ptp(descended[:, 0]) > 0.8 and np.ptp(descended[:, 1]) > 0.8


def test_a_feasible_point_stays_feasible() -> None:
    # f1 = x0 would descend to x0 = 0; the constraint x0 >= 0.3 holds every start that meets it.
    space = _cube(4)
    problem = SurrogateProblem(4, 2, zdt1, space.canonicalize, constraints=lambda X: 0.3 - X[:, :1])
    X = np.random.default_rng(3).uniform(0.3, 1.0, (30, 4))
    descended = descend(problem, X, 20)
    assert np.all(descended[:, 0] >= 0.3)
    assert np.all(zdt1(descended) <= zdt1(X) + 1e-12)


def test_a_discrete_space_gets_distinct_canonical_architectures() -> None:
    space = HyTNASSpace()
    rng = np.random.default_rng(4)
    X = space.sample_unique(60, rng)

    def evaluate(points: np.ndarray) -> np.ndarray:  # smooth in the cube, minimised at a shared corner
        return np.column_stack([points.sum(axis=1), (points[:, :5] ** 2).sum(axis=1)])

    problem = SurrogateProblem(space.n_vars, 2, evaluate, space.canonicalize)
    descended = descend(problem, X, 10)
    assert np.array_equal(descended, space.canonicalize(descended))
    assert len(set(space.keys(descended))) == 60
    assert np.all(evaluate(descended) <= evaluate(X) + 1e-12)
    assert np.any(descended != X)  # some steps cross into another architecture


def test_the_solver_descends_only_when_asked() -> None:
    space = _cube(6)
    problem = SurrogateProblem(6, 2, zdt1, space.canonicalize)
    initial = np.random.default_rng(5).random((30, 6))
    plain = NSGA2Solver(pop_size=30, n_gen=5).solve(problem, initial, np.random.default_rng(5))
    again = NSGA2Solver(pop_size=30, n_gen=5, descent_steps=0).solve(
        problem, initial, np.random.default_rng(5)
    )
    descended = NSGA2Solver(pop_size=30, n_gen=5, descent_steps=10).solve(
        problem, initial, np.random.default_rng(5)
    )
    assert np.array_equal(plain, again)
    assert np.all(zdt1(descended).sum(axis=1) <= zdt1(plain).sum(axis=1) + 1e-12)
    assert zdt1(descended)[:, 1].mean() < zdt1(plain)[:, 1].mean() - 0.1
