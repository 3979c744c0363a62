"""Latin hypercube sampling: each variable's range is cut into n strata, one point in each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import qmc

from search_engine.params import param
from search_engine.sampling.base import Sampler
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array


@dataclass(frozen=True)
class LHSSampler(Sampler):
    """Latin hypercube design (scrambled, so points sit anywhere inside their strata).

    Every one-dimensional projection covers the range evenly, which a uniform draw of the same size
    does not guarantee. ``random-cd`` additionally permutes the strata to lower the centred
    discrepancy, spreading the points in the joint space at a small extra cost.
    """

    optimization: Literal["none", "random-cd"] = param(
        "none", "'random-cd' reorders the strata to spread points jointly; 'none' keeps a plain design."
    )

    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        method: Literal["random-cd"] | None = "random-cd" if self.optimization == "random-cd" else None
        engine = qmc.LatinHypercube(d=space.n_vars, optimization=method, rng=rng)
        return np.asarray(engine.random(n), dtype=np.float64)  # (n, n_vars)
