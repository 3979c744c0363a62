"""Contract suites shared by every entry of a registry.

Each ``check_*`` function states what any component of a kind must do; ``test_contracts.py``
parametrises them over every registered key, so a new component is checked the moment it is
registered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from search_engine.registry import SAMPLERS, SELECTORS, SOLVERS, SURROGATES
from search_engine.selection.base import SelectionInput
from search_engine.solvers.base import SurrogateProblem
from search_engine.spaces.base import SearchSpace
from search_engine.spaces.hytnas import HyTNASSpace

FAST_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "surrogate": {
        "mix": {"surrogates": [{"name": "xgboost", "params": {}}, {"name": "gp", "params": {}}]},
        "mlp-ensemble": {"n_members": 2, "epochs": 20},
        "bnn": {"epochs": 30},
    },
    "solver": {
        "nsga2": {"pop_size": 20, "n_gen": 5},
        "moead": {"pop_size": 20, "n_gen": 5},
        "parego": {"n_weights": 2, "n_gen": 5},
    },
}
"""Small settings that keep contract tests fast without changing what is checked."""


def build(kind: str, key: str) -> Any:
    registry = {"surrogate": SURROGATES, "solver": SOLVERS, "selection": SELECTORS, "sampler": SAMPLERS}[kind]
    return registry.build(key, FAST_PARAMS.get(kind, {}).get(key, {}), kind)


def check_surrogate(key: str, X: np.ndarray, Y: np.ndarray) -> None:
    """Shapes, std >= 0 exactly when provided, and the same output for the same seed."""
    X_new = np.random.default_rng(1).random((7, X.shape[1]))
    outputs = []
    for _ in range(2):
        surrogate = build("surrogate", key)
        surrogate.fit(X, Y, np.random.default_rng(3))
        mean, std = surrogate.predict(X_new)
        assert mean.shape == (7, Y.shape[1])
        assert np.all(np.isfinite(mean))
        if surrogate.provides_std:
            assert std is not None and std.shape == mean.shape and np.all(std >= 0)
        else:
            assert std is None
        outputs.append((mean, std))
    np.testing.assert_allclose(outputs[0][0], outputs[1][0], rtol=1e-6, atol=1e-9)


def check_sampler(key: str, space: SearchSpace, n: int) -> None:
    """n distinct architectures, canonical points, deterministic for a seed, exclusions honoured."""
    sampler = build("sampler", key)
    X = sampler.sample(space, n, np.random.default_rng(5))
    assert X.shape == (n, space.n_vars)
    np.testing.assert_array_equal(space.canonicalize(X), X)
    keys = space.keys(X)
    assert len(set(keys)) == n
    np.testing.assert_array_equal(sampler.sample(space, n, np.random.default_rng(5)), X)
    excluded = set(keys[: n // 2])
    again = sampler.sample(space, n, np.random.default_rng(5), exclude=excluded)
    assert not excluded & set(space.keys(again))


def check_solver(key: str) -> None:
    """Final population inside the cube, canonical, distinct architectures, same for a seed."""
    space = HyTNASSpace()

    def evaluate(X: np.ndarray) -> np.ndarray:  # two conflicting cheap objectives
        return np.column_stack([X.sum(axis=1), (1 - X).sum(axis=1) + 0.1 * X[:, 0]])

    problem = SurrogateProblem(space.n_vars, 2, evaluate, space.canonicalize)
    solver = build("solver", key)
    initial = space.sample_uniform(5, np.random.default_rng(0))
    X = solver.solve(problem, initial, np.random.default_rng(9))
    assert X.ndim == 2 and X.shape[1] == space.n_vars and X.shape[0] >= 1
    assert np.all((X >= 0) & (X <= 1))
    np.testing.assert_array_equal(space.canonicalize(X), X)
    np.testing.assert_array_equal(solver.solve(problem, initial, np.random.default_rng(9)), X)


def check_selector(key: str, n_candidates: int, batch: int) -> None:
    """Exactly min(batch, n) distinct indices, deterministic for a seed."""
    rng = np.random.default_rng(2)
    mean = rng.random((n_candidates, 2))
    candidates = SelectionInput(
        X=rng.random((n_candidates, 3)),
        mean=mean,
        std=0.1 + rng.random((n_candidates, 2)),
        Y_measured=rng.random((15, 2)) + 0.3,
        ref_point=np.array([2.0, 2.0]),
    )
    selector = build("selection", key)
    chosen = selector.select(candidates, batch, np.random.default_rng(4))
    assert len(chosen) == min(batch, n_candidates) == len(set(chosen.tolist()))
    np.testing.assert_array_equal(selector.select(candidates, batch, np.random.default_rng(4)), chosen)
