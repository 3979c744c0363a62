"""MOEA/D over the surrogate problem (pymoo): one scalar subproblem per reference direction."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from search_engine.params import param
from search_engine.solvers import pymoo_adapter
from search_engine.solvers.base import Solver, SurrogateProblem
from search_engine.surrogates.base import seed_from
from search_engine.types import Array

ReferenceMethod = Literal["das-dennis", "energy"]
REFERENCE_METHODS: tuple[str, ...] = get_args(ReferenceMethod)


def das_dennis_partitions(n_objectives: int, pop_size: int) -> int:
    """Partitions p whose Das-Dennis lattice size C(p + m - 1, m - 1) is closest to ``pop_size``.

    Ties go to the smaller lattice. With two objectives the lattice has p + 1 points, so the size is
    exactly ``pop_size``; with three, ``pop_size = 100`` gives p = 13 and 105 directions.
    """
    best, best_gap, p = 1, math.inf, 1
    while True:
        size = math.comb(p + n_objectives - 1, n_objectives - 1)
        gap = abs(size - pop_size)
        if gap < best_gap:
            best, best_gap = p, gap
        if size >= pop_size:
            return best
        p += 1


def reference_directions(n_objectives: int, pop_size: int, method: str, seed: int) -> Array:
    """``(about pop_size, n_objectives)`` weight vectors on the simplex.

    ``das-dennis`` is a regular lattice (fast, its size is the nearest lattice size); ``energy``
    spreads exactly ``pop_size`` points by Riesz-energy minimisation (about a second to compute).
    A single objective gets ``pop_size`` copies of the weight 1, which turns MOEA/D into a
    steady-state genetic algorithm.
    """
    from pymoo.util.ref_dirs import get_reference_directions

    if n_objectives == 1:
        return np.ones((pop_size, 1))
    if method == "energy":
        directions = get_reference_directions("energy", n_objectives, pop_size, seed=seed)
    else:
        partitions = das_dennis_partitions(n_objectives, pop_size)
        directions = get_reference_directions("das-dennis", n_objectives, n_partitions=partitions)
    return np.asarray(directions, dtype=np.float64)


@functools.cache
def _moead_class() -> type[Any]:
    """pymoo's generational MOEA/D with MOEA/D-DE's bounded replacement, defined on first use."""
    from pymoo.algorithms.moo.moead import ParallelMOEAD

    class BoundedReplacementMOEAD(ParallelMOEAD):  # type: ignore[misc]
        """An offspring takes at most ``max_replacements`` neighbouring slots, none if already held.

        Plain MOEA/D lets one good offspring take every neighbouring slot it improves, so the
        population collapses onto a few architectures; bounding replacements (Li & Zhang, MOEA/D-DE)
        keeps it diverse, which matters because the batch is selected from it.
        """

        def __init__(self, *args: Any, max_replacements: int = 2, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.max_replacements = max_replacements

        def _replace(self, k: int, off: Any) -> None:
            held = np.array([individual.X for individual in self.pop])  # (pop, n_vars)
            if np.any(np.all(held == off.X, axis=1)):
                return
            neighbours = self.neighbors[k]
            weights = self.ref_dirs[neighbours, :]
            # Explicit pairings: pymoo's "auto" guess misreads single-objective arrays.
            current = self.decomposition.do(
                self.pop[neighbours].get("F"), weights=weights, _type="one_to_one", ideal_point=self.ideal
            )  # (n_neighbours,)
            offered = self.decomposition.do(
                off.F[None, :], weights=weights, _type="one_to_many", ideal_point=self.ideal
            )  # (n_neighbours,)
            improved = np.flatnonzero(offered < current)
            if improved.size > self.max_replacements:
                improved = self.random_state.choice(improved, self.max_replacements, replace=False)
            self.pop[neighbours[improved]] = off

    return BoundedReplacementMOEAD


@dataclass(frozen=True)
class MOEADSolver(Solver):
    """MOEA/D (Tchebycheff decomposition for two objectives, PBI beyond), generational variant.

    pymoo's loop-wise MOEA/D evaluates one offspring at a time; the parallel variant used here
    creates one offspring per subproblem and evaluates them in one batch per generation, so a
    surrogate predicts 25 times rather than 2500. Objectives are rescaled to the range of the
    initial population's values first (a monotone map, so dominance is unchanged) so that the
    reference directions weigh, say, accuracy and latency alike whatever their units.

    An offspring replaces at most ``max_replacements`` neighbouring solutions it improves, and none
    if its architecture is already held, so the population stays diverse. A few subproblems may still
    share an architecture: the returned population lists each architecture once, so it may be smaller
    than the number of reference directions.
    """

    pop_size: int = param(100, "Approximate number of subproblems (reference directions).", low=4, high=2000)
    n_gen: int = param(25, "Generations, the initial population counting as the first.", low=1, high=1000)
    n_neighbors: int = param(
        20, "Subproblems whose solutions mate and get replaced together.", low=2, high=200
    )
    max_replacements: int = param(
        2,
        "Most neighbouring solutions one offspring may replace; small values keep diversity.",
        low=1,
        high=200,
    )
    ref_dirs: ReferenceMethod = param(
        "das-dennis", "Reference directions: a regular lattice, or Riesz-energy points (slower, exact size)."
    )

    @property
    def population_size(self) -> int:
        return self.pop_size

    def _solve(self, problem: SurrogateProblem, initial: Array, rng: np.random.Generator) -> Array:
        directions = reference_directions(problem.n_objectives, self.pop_size, self.ref_dirs, seed_from(rng))
        seeds = _resize(problem, initial, directions.shape[0], rng)  # (n_directions, n_vars)
        normalise = pymoo_adapter.normaliser(problem.evaluate(seeds))

        def evaluate(X: Array) -> Array:
            return normalise(problem.evaluate(X))

        algorithm = _moead_class()(
            directions,
            n_neighbors=min(self.n_neighbors, directions.shape[0]),
            max_replacements=self.max_replacements,
            sampling=seeds,
            repair=pymoo_adapter.canonical_repair(problem),
        )
        pymoo_problem = pymoo_adapter.cube_problem(problem.n_vars, problem.n_objectives, evaluate)
        X = pymoo_adapter.run(algorithm, pymoo_problem, self.n_gen, seed_from(rng))
        return pymoo_adapter.unique_rows(X)


def _resize(problem: SurrogateProblem, initial: Array, size: int, rng: np.random.Generator) -> Array:
    """``initial`` cut or topped up with uniform canonical points to exactly ``size`` rows."""
    if initial.shape[0] >= size:
        return initial[:size]
    fill = problem.canonicalize(rng.random((size - initial.shape[0], problem.n_vars)))
    return np.vstack([initial, fill])
