"""Solver interface: minimise a vector of acquisition values over the unit cube.

A solver gets a :class:`SurrogateProblem` (a cheap function of cube points) and an initial
population (the best measured points by non-dominated sorting), and returns its final population:
``(pop, n_vars)`` canonical cube points. Selection then chooses the batch from those.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.types import Array


@dataclass(frozen=True)
class SurrogateProblem:
    """What a solver minimises.

    Attributes:
        n_vars: cube dimensions.
        n_objectives: number of acquisition columns.
        evaluate: ``(n, n_vars) -> (n, n_objectives)`` acquisition values, lower is better.
        canonicalize: snaps cube points to their architectures' canonical points; solvers apply it
            as a repair so their populations hold real, comparable architectures.
        constraints: ``(n, n_vars) -> (n, n_constraints)`` values, ``<= 0`` where a point is
            feasible (the study's bounds known before measuring), or None: all points are. Solvers
            built on pymoo hand them to its constraint handling; the optimizer drops infeasible
            points of any solver's population before selection all the same.
    """

    n_vars: int
    n_objectives: int
    evaluate: Callable[[Array], Array]
    canonicalize: Callable[[Array], Array]
    constraints: Callable[[Array], Array] | None = None


class Solver(Component, ABC):
    """Base class: checks inputs and output, subclasses implement ``_solve``."""

    KIND: ClassVar[str] = "solver"

    @property
    @abstractmethod
    def population_size(self) -> int:
        """How many individuals the solver evolves (and how many seeds it can use)."""

    def solve(self, problem: SurrogateProblem, initial: Array, rng: np.random.Generator) -> Array:
        """Final population ``(pop, n_vars)``, canonical, inside the cube.

        Args:
            problem: the surrogate problem.
            initial: ``(k, n_vars)`` seed points, ``k`` may be 0 or exceed ``population_size``
                (extra rows are ignored, missing rows are drawn uniformly).
            rng: source of all randomness.
        """
        initial = np.asarray(initial, dtype=np.float64).reshape(-1, problem.n_vars)
        initial = initial[: self.population_size]
        if initial.shape[0] < self.population_size:
            fill = rng.random((self.population_size - initial.shape[0], problem.n_vars))
            initial = np.vstack([initial, fill])
        initial = problem.canonicalize(np.clip(initial, 0.0, 1.0))
        X = np.asarray(self._solve(problem, initial, rng), dtype=np.float64).reshape(-1, problem.n_vars)
        return problem.canonicalize(np.clip(X, 0.0, 1.0))

    @abstractmethod
    def _solve(self, problem: SurrogateProblem, initial: Array, rng: np.random.Generator) -> Array:
        """Evolve from ``initial (population_size, n_vars)``; return the final population."""
