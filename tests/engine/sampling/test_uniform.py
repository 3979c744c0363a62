"""Uniform sampler: every choice of every variable equally likely."""

from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from search_engine.sampling.uniform import UniformSampler
from search_engine.spaces.hytnas import HyTNASSpace


def test_uniform_sampler_picks_every_choice_equally_often() -> None:
    space = HyTNASSpace()
    X = UniformSampler().sample(space, 1200, np.random.default_rng(3))
    index = space.indices(X)  # (1200, 23) choice index per variable
    for j, variable in enumerate(space.variables):
        counts = np.bincount(index[:, j], minlength=variable.levels)
        assert chisquare(counts).pvalue > 1e-3, variable.name
