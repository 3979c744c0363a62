"""Baseline searches the benchmarks compare the presets against: random search and plain NSGA-II.

Both score every point as the architecture it decodes to, through the same evaluator the presets
use, so the comparison is about the search strategy alone.
"""

from __future__ import annotations

import numpy as np

from search_engine.config import StudyConfig
from search_engine.objectives import to_minimisation
from search_engine.runner import objective_rows


def evaluate_points(config: StudyConfig, evaluator: object, X: np.ndarray) -> np.ndarray:
    """Objective rows (own units, NaN for failures) of cube points, scored as their architectures."""
    space = config.build_space()
    results = evaluator.evaluate(space.decode(space.canonicalize(X)))  # type: ignore[attr-defined]
    return objective_rows(results, config.n_objectives)


def random_search(
    config: StudyConfig, evaluator: object, initial: np.ndarray, budget: int, seed: int
) -> np.ndarray:
    """``(budget, n_obj)`` minimisation-form values: ``initial`` then distinct uniform architectures."""
    space = config.build_space()
    rng = np.random.default_rng([seed, 99])
    extra = space.sample_unique(budget - initial.shape[0], rng, exclude=set(space.keys(initial)))
    X = np.vstack([initial, extra])
    return to_minimisation(evaluate_points(config, evaluator, X), config.objectives)


def nsga2_search(
    config: StudyConfig,
    evaluator: object,
    initial: np.ndarray,
    budget: int,
    seed: int,
    pop_size: int,
    n_offsprings: int,
) -> np.ndarray:
    """``(budget, n_obj)`` values, in evaluation order, of pymoo's NSGA-II seeded with ``initial``."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem

    space = config.build_space()
    rows: list[np.ndarray] = []

    class _Problem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=space.n_vars, n_obj=config.n_objectives, xl=0.0, xu=1.0)

        def _evaluate(
            self, X: np.ndarray, out: dict[str, np.ndarray], *args: object, **kwargs: object
        ) -> None:
            F = to_minimisation(evaluate_points(config, evaluator, X), config.objectives)
            rows.append(F)
            out["F"] = np.where(np.isfinite(F), F, 1e12)

    algorithm = NSGA2(pop_size=pop_size, n_offsprings=n_offsprings, sampling=initial[:pop_size])
    algorithm.setup(_Problem(), seed=seed, verbose=False)
    while sum(r.shape[0] for r in rows) < budget:
        algorithm.next()
    return np.vstack(rows)[:budget]
