"""MOEA/D: reference directions sized to the population, optimisation on ZDT1, diversity kept."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest

from search_engine.solvers.base import SurrogateProblem
from search_engine.solvers.moead import MOEADSolver, das_dennis_partitions, reference_directions
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.conftest import zdt1

CUBE_5 = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(5)])


@pytest.mark.parametrize(
    ("n_objectives", "pop_size", "expected"),
    [(2, 100, 100), (2, 7, 7), (3, 100, 105), (3, 91, 91), (4, 50, 56)],
)
def test_das_dennis_directions_come_closest_to_the_population_size(
    n_objectives: int, pop_size: int, expected: int
) -> None:
    # Lattice sizes C(p + m - 1, m - 1): m = 3 gives 91 (p = 12) or 105 (p = 13); m = 4 gives 35 or 56.
    p = das_dennis_partitions(n_objectives, pop_size)
    assert math.comb(p + n_objectives - 1, n_objectives - 1) == expected
    directions = reference_directions(n_objectives, pop_size, "das-dennis", seed=0)
    assert directions.shape == (expected, n_objectives)
    assert np.allclose(directions.sum(axis=1), 1.0)
    assert np.all(directions >= 0.0)


def test_energy_directions_have_exactly_the_population_size() -> None:
    directions = reference_directions(3, 12, "energy", seed=0)
    assert directions.shape == (12, 3)
    assert np.allclose(directions.sum(axis=1), 1.0)


def test_moead_improves_the_zdt1_hypervolume_of_its_random_start() -> None:
    initial = np.random.default_rng(0).random((100, 5))
    problem = SurrogateProblem(5, 2, zdt1, CUBE_5.canonicalize)
    X = MOEADSolver().solve(problem, initial, np.random.default_rng(0))
    ref = [1.1, 11.0]
    assert moocore.hypervolume(zdt1(X), ref=ref) > moocore.hypervolume(zdt1(initial), ref=ref) + 1.0
    assert moocore.hypervolume(zdt1(X), ref=[1.1, 1.1]) > 0.3


def test_bounded_replacement_keeps_many_distinct_hytnas_architectures() -> None:
    """Unbounded replacement collapses the population onto a handful of architectures."""
    space = HyTNASSpace()
    problem = SurrogateProblem(space.n_vars, 2, zdt1, space.canonicalize)
    initial = space.sample_uniform(100, np.random.default_rng(1))
    bounded = MOEADSolver().solve(problem, initial, np.random.default_rng(1))
    unbounded = MOEADSolver(max_replacements=20).solve(problem, initial, np.random.default_rng(1))
    assert len(set(space.keys(bounded))) >= 40
    assert len(set(space.keys(bounded))) > len(set(space.keys(unbounded)))
