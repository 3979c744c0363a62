"""Shared pymoo plumbing: duplicate-free rows, range normalisation, the canonicalising repair."""

from __future__ import annotations

import numpy as np

from search_engine.solvers import pymoo_adapter
from search_engine.solvers.base import SurrogateProblem
from search_engine.spaces.generic import GenericSpace


def test_unique_rows_keeps_first_occurrences_in_order() -> None:
    X = np.array([[0.5, 0.1], [0.2, 0.2], [0.5, 0.1], [0.0, 0.9], [0.2, 0.2]])
    assert np.array_equal(pymoo_adapter.unique_rows(X), [[0.5, 0.1], [0.2, 0.2], [0.0, 0.9]])


def test_normaliser_maps_each_column_range_onto_the_unit_interval_and_shifts_constant_columns() -> None:
    F = np.array([[1.0, 10.0, 3.0], [3.0, 30.0, 3.0], [2.0, 20.0, 3.0]])
    normalise = pymoo_adapter.normaliser(F)
    assert np.allclose(normalise(F), [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    assert np.allclose(normalise(np.array([[5.0, 0.0, 4.0]])), [[2.0, -0.5, 1.0]])


def test_repair_snaps_points_to_canonical_points_inside_the_cube() -> None:
    from pymoo.core.population import Population

    space = GenericSpace([{"name": "n", "type": "int", "low": 0, "high": 3}])
    problem = SurrogateProblem(1, 1, lambda X: X, space.canonicalize)
    population = Population.new(X=np.array([[0.26], [0.49], [1.2], [-0.1]]))
    repaired = pymoo_adapter.canonical_repair(problem).do(None, population).get("X")
    assert np.array_equal(repaired, [[0.375], [0.375], [0.875], [0.125]])


def test_duplicate_elimination_drops_repeated_architectures_only() -> None:
    from pymoo.core.population import Population

    population = Population.new(X=np.array([[0.125, 0.5], [0.375, 0.5], [0.125, 0.5]]))
    held = Population.new(X=np.array([[0.375, 0.5]]))
    kept = pymoo_adapter.distinct_architectures().do(population, held).get("X")
    assert np.array_equal(kept, [[0.125, 0.5]])
