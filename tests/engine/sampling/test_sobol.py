"""Sobol sampler: any n works (a prefix of the next power of two) and it beats uniform on discrepancy."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from search_engine.sampling.sobol import SobolSampler
from search_engine.sampling.uniform import UniformSampler
from search_engine.spaces.generic import GenericSpace

CONTINUOUS = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(3)])


def test_sobol_with_n_not_a_power_of_two_is_the_prefix_of_the_next_power_and_warns_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ten = SobolSampler().sample(CONTINUOUS, 10, np.random.default_rng(5))
        sixteen = SobolSampler().sample(CONTINUOUS, 16, np.random.default_rng(5))
    assert np.array_equal(ten, sixteen[:10])


def test_sobol_points_have_lower_discrepancy_than_uniform_draws() -> None:
    sobol, uniform = [], []
    for seed in range(5):
        sobol.append(qmc.discrepancy(SobolSampler().sample(CONTINUOUS, 64, np.random.default_rng(seed))))
        uniform.append(qmc.discrepancy(UniformSampler().sample(CONTINUOUS, 64, np.random.default_rng(seed))))
    assert np.mean(sobol) < 0.5 * np.mean(uniform)
