"""Beta sampler: Beta(0.5, 0.5) puts more mass near the edges of each variable than uniform."""

from __future__ import annotations

import math

import numpy as np

from search_engine.sampling.beta import BetaSampler
from search_engine.sampling.uniform import UniformSampler
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace

CONTINUOUS = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(5)])


def _edge_fraction(X: np.ndarray) -> float:
    return float(np.mean((X < 0.1) | (X > 0.9)))


def test_beta_half_half_puts_the_arcsine_share_of_mass_in_the_outer_tenths() -> None:
    X = BetaSampler().sample(CONTINUOUS, 400, np.random.default_rng(6))
    # Beta(1/2, 1/2) is the arcsine law: P(x < t) = (2/pi) asin(sqrt(t)), so both tenths hold 0.4097.
    expected = 2 * (2 / math.pi) * math.asin(math.sqrt(0.1))
    assert abs(_edge_fraction(X) - expected) < 0.04
    assert (
        abs(_edge_fraction(UniformSampler().sample(CONTINUOUS, 400, np.random.default_rng(6))) - 0.2) < 0.04
    )


def test_beta_one_one_is_uniform() -> None:
    X = BetaSampler(a=1.0, b=1.0).sample(CONTINUOUS, 400, np.random.default_rng(6))
    assert abs(_edge_fraction(X) - 0.2) < 0.04


def test_beta_picks_first_and_last_hytnas_choices_more_often_than_uniform() -> None:
    space = HyTNASSpace()
    levels = np.array([v.levels for v in space.variables])

    def extreme_share(X: np.ndarray) -> float:
        index = space.indices(X)
        return float(np.mean((index == 0) | (index == levels - 1)))

    beta = extreme_share(BetaSampler().sample(space, 200, np.random.default_rng(9)))
    uniform = extreme_share(UniformSampler().sample(space, 200, np.random.default_rng(9)))
    assert beta > uniform + 0.05
