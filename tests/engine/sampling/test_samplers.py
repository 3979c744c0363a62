"""Every registered sampler: n distinct canonical architectures, inside the cube, same seed = same design."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.registry import SAMPLERS
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace

CONTINUOUS = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(3)])
SIX_ARCHITECTURES = GenericSpace(
    [
        {"name": "act", "type": "choice", "choices": ["relu", "gelu"]},
        {"name": "depth", "type": "int", "low": 1, "high": 3},
    ]
)


@pytest.mark.parametrize("key", SAMPLERS.keys())
def test_sampler_returns_n_distinct_canonical_hytnas_architectures(key: str) -> None:
    space = HyTNASSpace()
    X = SAMPLERS.build(key).sample(space, 30, np.random.default_rng(0))
    assert X.shape == (30, space.n_vars)
    assert np.array_equal(space.canonicalize(X), X)
    assert len(set(space.keys(X))) == 30


@pytest.mark.parametrize("key", SAMPLERS.keys())
def test_sampler_returns_n_distinct_points_inside_a_continuous_cube(key: str) -> None:
    X = SAMPLERS.build(key).sample(CONTINUOUS, 25, np.random.default_rng(1))
    assert X.shape == (25, 3)
    assert np.all((X >= 0.0) & (X <= 1.0))
    assert len(np.unique(X, axis=0)) == 25


@pytest.mark.parametrize("key", SAMPLERS.keys())
def test_sampler_gives_the_same_design_for_the_same_seed_and_another_for_another_seed(key: str) -> None:
    space = HyTNASSpace()
    sampler = SAMPLERS.build(key)
    first = sampler.sample(space, 12, np.random.default_rng(7))
    again = sampler.sample(space, 12, np.random.default_rng(7))
    other = sampler.sample(space, 12, np.random.default_rng(8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("key", SAMPLERS.keys())
def test_sampler_skips_excluded_architectures_and_stops_when_the_space_runs_out(key: str) -> None:
    space = SIX_ARCHITECTURES
    excluded = space.keys(np.array([[0.1, 0.1], [0.9, 0.9]]))
    X = SAMPLERS.build(key).sample(space, 6, np.random.default_rng(2), exclude=excluded)
    keys = space.keys(X)
    assert len(keys) == 4 == len(set(keys))
    assert not set(keys) & set(excluded)
