"""Scrambled Sobol sampling: a low-discrepancy sequence, evenly spread in all dimensions at once."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from search_engine.sampling.base import Sampler
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array


@dataclass(frozen=True)
class SobolSampler(Sampler):
    """Owen-scrambled Sobol points.

    Sobol balance holds for blocks of 2^m points, so for any ``n`` this draws the next power of two,
    ``2^ceil(log2 n)`` points, and keeps the first ``n``: a prefix of a scrambled Sobol sequence is
    still low-discrepancy, and scipy's warning about non-power-of-two sizes does not apply.
    """

    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        engine = qmc.Sobol(d=space.n_vars, scramble=True, rng=rng)
        m = max(0, math.ceil(math.log2(n)))
        return np.asarray(engine.random_base2(m)[:n], dtype=np.float64)  # (n, n_vars)
