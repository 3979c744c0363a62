"""Shared plumbing of the pymoo-based solvers: problem wrapper, canonicalising repair, one seeded run.

pymoo is imported inside these functions, never at module level, so describing the solvers (the
registry's ``describe()``) does not load it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from search_engine.solvers.base import SurrogateProblem
from search_engine.types import Array

MATING_ROUNDS = 10
"""Mating rounds per generation before a genetic algorithm settles for fewer offspring.

Offspring that repeat an architecture already held are dropped and mating is retried; pymoo retries
up to 100 times, which in a small discrete space or a converged population costs far more than the
few new architectures it finds.
"""


@functools.cache
def _classes() -> tuple[type[Any], type[Any]]:
    """The pymoo ``Problem`` and ``Repair`` subclasses, defined on first use."""
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair

    class CubeProblem(Problem):  # type: ignore[misc]
        """A vectorised pymoo problem over ``[0, 1]^n_vars`` calling ``function`` once per batch."""

        def __init__(
            self,
            n_vars: int,
            n_objectives: int,
            function: Callable[[Array], Array],
            constraints: Callable[[Array], Array] | None,
            n_constraints: int,
        ) -> None:
            super().__init__(
                n_var=n_vars, n_obj=n_objectives, n_ieq_constr=n_constraints, xl=0.0, xu=1.0, vtype=float
            )
            self.function = function
            self.constraints = constraints

        def _evaluate(self, x: Array, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            x = np.asarray(x, dtype=np.float64)
            F = np.asarray(self.function(x), dtype=np.float64)
            out["F"] = F.reshape(x.shape[0], self.n_obj)  # (n, n_objectives)
            if self.constraints is not None:
                G = np.asarray(self.constraints(x), dtype=np.float64)
                out["G"] = G.reshape(x.shape[0], self.n_ieq_constr)  # (n, n_constraints), <= 0 feasible

    class CanonicalRepair(Repair):  # type: ignore[misc]
        """Snaps every new individual to its architecture's canonical point.

        Variation operators move points anywhere in the cube; after this repair two individuals of
        the same architecture have identical ``X``, so pymoo's duplicate elimination (exact
        distance 0) keeps one architecture once.
        """

        def __init__(self, canonicalize: Callable[[Array], Array]) -> None:
            super().__init__()
            self.canonicalize = canonicalize

        def _do(self, problem: Any, X: Array, **kwargs: Any) -> Array:
            return np.asarray(self.canonicalize(np.clip(X, 0.0, 1.0)), dtype=np.float64)

    return CubeProblem, CanonicalRepair


def cube_problem(
    n_vars: int,
    n_objectives: int,
    function: Callable[[Array], Array],
    constraints: Callable[[Array], Array] | None = None,
) -> Any:
    """A pymoo problem minimising ``function: (n, n_vars) -> (n, n_objectives)`` over the unit cube.

    ``constraints: (n, n_vars) -> (n, n_constraints)``, ``<= 0`` where feasible, become pymoo's
    inequality constraints (its algorithms then prefer feasible points, then smaller violations).
    """
    problem_class, _ = _classes()
    n_constraints = 0
    if constraints is not None:
        n_constraints = int(np.asarray(constraints(np.full((1, n_vars), 0.5))).reshape(1, -1).shape[1])
    return problem_class(n_vars, n_objectives, function, constraints, n_constraints)


def canonical_repair(problem: SurrogateProblem) -> Any:
    """A pymoo repair applying ``problem.canonicalize``."""
    _, repair_class = _classes()
    return repair_class(problem.canonicalize)


def _rows(population: Any) -> Array:
    """``(len(population), n_vars)`` decision vectors, read straight from the individuals.

    pymoo's default ``Population.get("X")`` goes through a generic per-attribute lookup; duplicate
    elimination runs after every mating round, so this plain attribute read saves real time.
    """
    return np.array([individual.X for individual in population], dtype=np.float64)


def distinct_architectures() -> Any:
    """pymoo duplicate elimination by exact equality of (canonical) decision vectors."""
    from pymoo.core.duplicate import DefaultDuplicateElimination

    return DefaultDuplicateElimination(func=_rows)


def run(algorithm: Any, problem: Any, n_gen: int, seed: int) -> Array:
    """Run ``algorithm`` on ``problem`` for ``n_gen`` generations, silently; return the final ``X``.

    pymoo counts the initial population as generation 1. This is ``pymoo.optimize.minimize``
    without its deep copy of the algorithm (which would also copy the search space the repair
    holds), and with mating retries capped at ``MATING_ROUNDS``.
    """
    if getattr(algorithm, "mating", None) is not None:
        algorithm.mating.n_max_iterations = MATING_ROUNDS
    algorithm.setup(problem, termination=("n_gen", n_gen), seed=seed, verbose=False, progress=False)
    algorithm.run()
    return np.asarray(algorithm.pop.get("X"), dtype=np.float64).reshape(-1, problem.n_var)


def unique_rows(X: Array) -> Array:
    """Rows of ``X (n, n_vars)`` without exact repeats, first occurrences in their original order."""
    if X.shape[0] == 0:
        return X
    _, first = np.unique(X, axis=0, return_index=True)
    return X[np.sort(first)]


def normaliser(F: Array) -> Callable[[Array], Array]:
    """Affine map sending the range of ``F (n, n_objectives)`` per column onto [0, 1].

    A constant column is only shifted. The map is monotone per objective, so dominance is
    unchanged; it makes weights and decompositions mean the same whatever the objectives' units.
    """
    F = np.asarray(F, dtype=np.float64).reshape(F.shape[0], -1)
    low: Array = F.min(axis=0)  # (n_objectives,)
    span: Array = F.max(axis=0) - low
    span = np.where(span > 0, span, 1.0)

    def normalise(values: Array) -> Array:
        scaled: Array = (np.asarray(values, dtype=np.float64) - low) / span
        return scaled

    return normalise
