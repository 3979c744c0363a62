"""Sampler interface: n distinct architectures of a space, as canonical cube points."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array


class Sampler(Component, ABC):
    """Draws an initial design. Subclasses propose raw cube points in ``_sample_cube``.

    The public ``sample`` canonicalises those points, drops repeated architectures (a fine design
    in the cube can land several points on one architecture of a coarse space) and tops up with
    uniform draws, so a caller always gets ``n`` distinct architectures while the space has them.
    """

    KIND: ClassVar[str] = "sampler"

    def sample(
        self, space: SearchSpace, n: int, rng: np.random.Generator, exclude: Iterable[str] = ()
    ) -> Array:
        """``(n, n_vars)`` canonical points of distinct architectures whose keys are not in ``exclude``.

        Returns fewer rows only when the space holds fewer new architectures.
        """
        if n < 0:
            raise ValueError(f"cannot sample {n} points")
        seen = set(exclude)
        if n == 0:
            return np.empty((0, space.n_vars))
        raw = np.clip(np.asarray(self._sample_cube(space, n, rng), dtype=np.float64), 0.0, 1.0)
        X = space.canonicalize(raw)
        rows: list[Array] = []
        for row, key in zip(X, space.keys(X), strict=True):
            if key not in seen and len(rows) < n:
                seen.add(key)
                rows.append(row)
        if len(rows) < n:
            rows.extend(space.sample_unique(n - len(rows), rng, exclude=seen))
        return np.array(rows, dtype=np.float64).reshape(len(rows), space.n_vars)

    @abstractmethod
    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        """``(n, n_vars)`` points of the unit cube (need not be canonical or distinct)."""
