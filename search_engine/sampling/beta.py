"""Beta sampling: each coordinate ~ Beta(a, b); a = b = 0.5 favours the extremes of every range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_engine.params import param
from search_engine.sampling.base import Sampler
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array


@dataclass(frozen=True)
class BetaSampler(Sampler):
    """Independent Beta(a, b) coordinates.

    With a = b < 1 the density is U-shaped, so the first and last choices of each variable (the
    smallest and largest networks) are drawn more often than the middle ones: the initial design
    then brackets the objectives' range, which helps a surrogate extrapolate. a = b = 1 is uniform.
    """

    a: float = param(0.5, "Beta shape a; below 1 pushes mass towards 0.", low=0.05, high=100.0)
    b: float = param(0.5, "Beta shape b; below 1 pushes mass towards 1.", low=0.05, high=100.0)

    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        return rng.beta(self.a, self.b, size=(n, space.n_vars))  # (n, n_vars)
