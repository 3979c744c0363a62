"""ParEGO-style solver: random augmented Chebyshev scalarisations, each minimised by a pymoo GA."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_engine.params import param
from search_engine.solvers import pymoo_adapter
from search_engine.solvers.base import Solver, SurrogateProblem
from search_engine.surrogates.base import seed_from
from search_engine.types import Array


def augmented_chebyshev(F: Array, weights: Array, rho: float) -> Array:
    """``max_i w_i f_i + rho * sum_i w_i f_i`` per row of ``F (n, n_objectives)``; returns ``(n,)``.

    The max term reaches every Pareto-optimal point for some weight (unlike a weighted sum on a
    non-convex front); the small sum term breaks ties towards points that are not weakly dominated.
    """
    weighted = F * weights[None, :]  # (n, n_objectives)
    return np.asarray(weighted.max(axis=1) + rho * weighted.sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class ParEGOSolver(Solver):
    """ParEGO (Knowles 2006) as a population solver.

    For each of ``n_weights`` weight vectors drawn uniformly from the simplex, a single-objective
    genetic algorithm minimises the augmented Chebyshev scalarisation of the acquisition values,
    rescaled to [0, 1] over the initial population. Each run starts from the ``pop_size`` distinct
    initial points that score best under its own weights. The final populations of all runs, each
    architecture listed once, form the result: points spread along the front, one cluster per
    direction.
    """

    n_weights: int = param(10, "Random scalarisations (one genetic-algorithm run each).", low=1, high=100)
    pop_size: int = param(
        10, "Individuals per run; the result holds up to n_weights x pop_size.", low=2, high=500
    )
    n_gen: int = param(
        25, "Generations per run, the initial population counting as the first.", low=1, high=1000
    )
    rho: float = param(
        0.05, "Weight of the sum term of the augmented Chebyshev scalarisation.", low=0.0, high=1.0
    )

    @property
    def population_size(self) -> int:
        return self.n_weights * self.pop_size

    def _solve(self, problem: SurrogateProblem, initial: Array, rng: np.random.Generator) -> Array:
        from pymoo.algorithms.soo.nonconvex.ga import GA

        initial = pymoo_adapter.unique_rows(initial)  # seeds are ranked, so repeats would crowd others out
        values = problem.evaluate(initial)  # (n_distinct, n_objectives)
        normalise = pymoo_adapter.normaliser(values)
        initial_values = normalise(values)
        repair = pymoo_adapter.canonical_repair(problem)
        finals = []
        for _ in range(self.n_weights):
            weights = rng.dirichlet(np.ones(problem.n_objectives))  # (n_objectives,), on the simplex
            order = np.argsort(augmented_chebyshev(initial_values, weights, self.rho), kind="stable")
            seeds = initial[order[: self.pop_size]]  # (<= pop_size, n_vars)

            def scalarised(X: Array, weights: Array = weights) -> Array:
                return augmented_chebyshev(normalise(problem.evaluate(X)), weights, self.rho)

            algorithm = GA(
                pop_size=self.pop_size,
                sampling=seeds,
                repair=repair,
                eliminate_duplicates=pymoo_adapter.distinct_architectures(),
            )
            pymoo_problem = pymoo_adapter.cube_problem(problem.n_vars, 1, scalarised, problem.constraints)
            finals.append(pymoo_adapter.run(algorithm, pymoo_problem, self.n_gen, seed_from(rng)))
        return pymoo_adapter.unique_rows(np.vstack(finals))
