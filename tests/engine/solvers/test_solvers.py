"""Every registered solver: canonical, distinct points inside the cube; seeded; silent; uses its seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.registry import SOLVERS
from search_engine.solvers.base import SurrogateProblem
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.conftest import zdt1

# Small settings so the suite stays fast; every solver accepts pop_size and n_gen.
SMALL: dict[str, dict[str, Any]] = {
    "nsga2": {"pop_size": 20, "n_gen": 5},
    "moead": {"pop_size": 20, "n_gen": 5},
    "parego": {"n_weights": 3, "pop_size": 8, "n_gen": 5},
}


# Each registered solver at its small settings, and the variants ``auto`` runs.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    **{key: (key, params) for key, params in SMALL.items()},
    "nsga2-descent": ("nsga2", {**SMALL["nsga2"], "descent_steps": 3}),
}


def _build(case: str, **changes: Any) -> Any:
    key, params = CASES[case]
    return SOLVERS.build(key, {**params, **changes})


def _problem(space: GenericSpace, n_objectives: int = 2) -> SurrogateProblem:
    def evaluate(X: np.ndarray) -> np.ndarray:
        if n_objectives == 2 and X.shape[1] >= 2:
            return zdt1(X)
        return np.column_stack([X.sum(axis=1), (1 - X).sum(axis=1), (X[:, 0] - 0.5) ** 2])[:, :n_objectives]

    return SurrogateProblem(space.n_vars, n_objectives, evaluate, space.canonicalize)


def _solve(key: str, space: GenericSpace, seed: int, n_gen: int | None = None) -> np.ndarray:
    solver = _build(key, **({"n_gen": n_gen} if n_gen else {}))
    initial = space.sample_unique(solver.population_size, np.random.default_rng(100 + seed))
    return solver.solve(_problem(space), initial, np.random.default_rng(seed))


def test_every_registered_solver_has_small_test_settings() -> None:
    assert set(SMALL) == set(SOLVERS.keys())


@pytest.mark.parametrize("key", CASES)
def test_solver_returns_canonical_distinct_hytnas_architectures_inside_the_cube(key: str) -> None:
    space = HyTNASSpace()
    X = _solve(key, space, seed=0)
    assert X.ndim == 2 and X.shape[1] == space.n_vars and X.shape[0] >= 8
    assert np.all((X >= 0.0) & (X <= 1.0))
    assert np.array_equal(space.canonicalize(X), X)
    assert len(set(space.keys(X))) == X.shape[0]


@pytest.mark.parametrize("key", CASES)
def test_solver_is_deterministic_per_seed(key: str) -> None:
    space = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(4)])
    first, again, other = _solve(key, space, 3), _solve(key, space, 3), _solve(key, space, 4)
    assert np.array_equal(first, again)
    assert not (first.shape == other.shape and np.array_equal(first, other))


@pytest.mark.parametrize("key", CASES)
def test_solver_population_starts_from_the_initial_points(key: str) -> None:
    """With a single generation (pymoo counts the initial population as the first), nothing new
    is bred, so every returned point must be one of the given seeds."""
    space = HyTNASSpace()
    solver = _build(key, n_gen=1)
    initial = space.sample_unique(solver.population_size, np.random.default_rng(5))
    X = solver.solve(_problem(space), initial, np.random.default_rng(5))
    assert set(space.keys(X)) <= set(space.keys(initial))


@pytest.mark.parametrize("key", CASES)
def test_solver_prints_nothing(key: str, capfd: pytest.CaptureFixture[str]) -> None:
    _solve(key, HyTNASSpace(), seed=1)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("key", CASES)
def test_solver_copes_with_a_space_smaller_than_its_population(key: str) -> None:
    space = GenericSpace([{"name": "act", "type": "choice", "choices": ["relu", "gelu", "silu"]}])
    X = _solve(key, space, seed=2)
    assert sorted(space.keys(X)) == ["gelu", "relu", "silu"]


@pytest.mark.parametrize("key", CASES)
@pytest.mark.parametrize("n_objectives", [1, 3])
def test_solver_handles_one_and_three_objectives(key: str, n_objectives: int) -> None:
    space = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(4)])
    solver = _build(key)
    X = solver.solve(_problem(space, n_objectives), np.empty((0, 4)), np.random.default_rng(0))
    assert X.shape[1] == 4 and X.shape[0] >= 4
    assert len(np.unique(X, axis=0)) == X.shape[0]
