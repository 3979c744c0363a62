"""NSGA-II over the surrogate problem (pymoo), seeded with the initial population."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_engine.params import param
from search_engine.solvers import descent, pymoo_adapter
from search_engine.solvers.base import Solver, SurrogateProblem
from search_engine.surrogates.base import seed_from
from search_engine.types import Array


@dataclass(frozen=True)
class NSGA2Solver(Solver):
    """NSGA-II: non-dominated sorting plus crowding distance, SBX crossover, polynomial mutation.

    Every offspring is repaired to its architecture's canonical point and duplicates are dropped,
    so the final population holds ``pop_size`` distinct architectures (fewer only when the space
    or the mating rounds run out of new ones). The defaults are pymoo's and the original HyT-NAS
    setting: population 100 for 25 generations, the initial population counting as the first.
    """

    pop_size: int = param(
        100, "Individuals per generation (and seeds taken from the data).", low=4, high=2000
    )
    n_gen: int = param(25, "Generations, the initial population counting as the first.", low=1, high=1000)
    crossover_prob: float = param(
        0.9, "Probability that a pair of parents is recombined (SBX).", low=0.0, high=1.0
    )
    crossover_eta: float = param(
        15.0, "SBX distribution index: larger keeps children near parents.", low=0.0, high=100.0
    )
    mutation_eta: float = param(
        20.0, "Polynomial mutation index: larger makes smaller steps.", low=0.0, high=100.0
    )
    descent_steps: int = param(
        0,
        "Steps of common gradient descent from every final individual onto the surrogates' front "
        "(0: none); see search_engine.solvers.descent.",
        low=0,
        high=200,
    )

    @property
    def population_size(self) -> int:
        return self.pop_size

    def _solve(self, problem: SurrogateProblem, initial: Array, rng: np.random.Generator) -> Array:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM

        algorithm = NSGA2(
            pop_size=self.pop_size,
            sampling=initial,  # (pop_size, n_vars), canonical
            crossover=SBX(prob=self.crossover_prob, eta=self.crossover_eta),
            mutation=PM(eta=self.mutation_eta),
            repair=pymoo_adapter.canonical_repair(problem),
            eliminate_duplicates=pymoo_adapter.distinct_architectures(),
        )
        pymoo_problem = pymoo_adapter.cube_problem(
            problem.n_vars, problem.n_objectives, problem.evaluate, problem.constraints
        )
        final = pymoo_adapter.run(algorithm, pymoo_problem, self.n_gen, seed_from(rng))
        return descent.descend(problem, final, self.descent_steps) if self.descent_steps else final
