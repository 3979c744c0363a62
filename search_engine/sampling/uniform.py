"""Uniform sampling: every variable uniform over its choices, independently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_engine.sampling.base import Sampler
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array


@dataclass(frozen=True)
class UniformSampler(Sampler):
    """Independent uniform draws in the cube.

    A choice variable's bins have equal width, so a uniform cube coordinate picks each choice with
    equal probability once ``Sampler.sample`` canonicalises it. This is the original HyT-NAS design.
    """

    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        return rng.random((n, space.n_vars))  # (n, n_vars)
