"""Acquisition interface: ``(mean, std, best) -> values to minimise``, one column per objective.

All arrays are in minimisation form. ``mean`` and ``std`` are ``(n, n_objectives)``; ``best`` is
``(n_objectives,)``, the best (smallest) measured value of each objective so far. Acquisitions that
read ``std`` set ``needs_std`` and the configuration check refuses them with a surrogate that has
none; those that compare against ``best`` in units set ``needs_values`` (rank scores are not units).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.types import Array


class Acquisition(Component, ABC):
    """Base class: checks shapes, then calls ``_evaluate``."""

    KIND: ClassVar[str] = "acquisition"

    needs_std: ClassVar[bool] = False
    needs_values: ClassVar[bool] = False

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"needs_std": cls.needs_std, "needs_values": cls.needs_values}

    def __call__(self, mean: Array, std: Array | None, best: Array) -> Array:
        """``(n, n_objectives)`` acquisition values; lower is more desirable."""
        mean = np.asarray(mean, dtype=np.float64)
        if mean.ndim != 2:
            raise ValueError(f"mean must be (n, n_objectives), got {mean.shape}")
        if self.needs_std and std is None:
            raise ValueError(f"{type(self).__name__} needs a predictive std")
        if std is not None:
            std = np.asarray(std, dtype=np.float64)
            if std.shape != mean.shape:
                raise ValueError(f"std {std.shape} must match mean {mean.shape}")
        best = np.asarray(best, dtype=np.float64).reshape(-1)
        if best.shape[0] != mean.shape[1]:
            raise ValueError(f"best has {best.shape[0]} values for {mean.shape[1]} objectives")
        return np.asarray(self._evaluate(mean, std, best), dtype=np.float64).reshape(mean.shape)

    @abstractmethod
    def _evaluate(self, mean: Array, std: Array | None, best: Array) -> Array: ...
