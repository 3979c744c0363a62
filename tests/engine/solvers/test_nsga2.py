"""NSGA-II: optimises ZDT1 (hypervolume far above the random start); its speed is measured in benchmarks/."""

from __future__ import annotations

import moocore
import numpy as np

from search_engine.solvers.base import SurrogateProblem
from search_engine.solvers.nsga2 import NSGA2Solver
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.conftest import zdt1

CUBE_10 = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(10)])


def _zdt1_problem(space: GenericSpace) -> SurrogateProblem:
    return SurrogateProblem(space.n_vars, 2, zdt1, space.canonicalize)


def test_nsga2_final_population_has_a_much_higher_zdt1_hypervolume_than_its_random_start() -> None:
    initial = np.random.default_rng(0).random((100, 10))
    X = NSGA2Solver().solve(_zdt1_problem(CUBE_10), initial, np.random.default_rng(0))
    # Near the true front: the front's hypervolume w.r.t. (1.1, 1.1) is 1.21 - 1/3 = 0.877; random
    # points of a 10-variable ZDT1 have g around 5 and do not reach that box at all.
    near = [1.1, 1.1]
    assert moocore.hypervolume(zdt1(initial), ref=near) == 0.0
    assert moocore.hypervolume(zdt1(X), ref=near) > 0.6
    wide = [1.1, 11.0]  # a box holding the random start too
    assert moocore.hypervolume(zdt1(X), ref=wide) > moocore.hypervolume(zdt1(initial), ref=wide) + 2.0


def test_nsga2_keeps_a_full_population_of_distinct_hytnas_architectures() -> None:
    space = HyTNASSpace()
    initial = space.sample_uniform(100, np.random.default_rng(1))
    X = NSGA2Solver().solve(_zdt1_problem(space), initial, np.random.default_rng(1))
    assert X.shape == (100, 23)
    assert len(set(space.keys(X))) == 100
