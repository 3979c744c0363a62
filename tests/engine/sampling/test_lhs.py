"""Latin hypercube sampler: exactly one point per 1/n stratum of every variable."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.registry import SAMPLERS
from search_engine.sampling.lhs import LHSSampler
from search_engine.spaces.generic import GenericSpace

CONTINUOUS = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(4)])


@pytest.mark.parametrize("optimization", ["none", "random-cd"])
def test_lhs_puts_exactly_one_point_in_each_stratum_of_every_variable(optimization: str) -> None:
    n = 17
    X = LHSSampler(optimization).sample(CONTINUOUS, n, np.random.default_rng(4))
    strata = np.floor(X * n).astype(int)  # (n, 4)
    for column in strata.T:
        assert sorted(column) == list(range(n))


def test_uniform_draws_usually_miss_strata_that_lhs_fills() -> None:
    """The property above is not automatic: plain uniform draws leave strata empty."""
    n = 17
    X = np.random.default_rng(4).random((n, 4))
    strata = np.floor(X * n).astype(int)
    assert any(len(set(column)) < n for column in strata.T)


def test_lhs_rejects_an_unknown_optimization() -> None:
    with pytest.raises(ConfigError, match="optimization"):
        SAMPLERS.build("lhs", {"optimization": "lloyd"})
