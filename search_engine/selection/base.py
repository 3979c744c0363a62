"""Selection interface: choose ``batch_size`` distinct candidates.

Candidates arrive canonical, distinct and unmeasured (the optimizer guarantees it), with their
predicted ``mean`` (and ``std`` when the surrogate has one), all in minimisation form. Selectors
that reason in objective units (hypervolume) set ``needs_values``; those that read ``std`` set
``needs_std``; the configuration check refuses incompatible surrogates by these flags.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from search_engine.component import Component
from search_engine.types import Array


@dataclass(frozen=True)
class SelectionInput:
    """Everything a selector may use.

    Attributes:
        X: ``(n_candidates, n_vars)`` candidate points.
        mean: ``(n_candidates, n_objectives)`` predictions (scores for rank surrogates).
        std: ``(n_candidates, n_objectives)`` or None.
        Y_measured: ``(n_measured, n_objectives)`` finite measured values, minimisation form.
        ref_point: ``(n_objectives,)`` hypervolume reference point, minimisation form.
    """

    X: Array
    mean: Array
    std: Array | None
    Y_measured: Array
    ref_point: Array


class Selector(Component, ABC):
    """Base class: checks the result is ``min(batch_size, n_candidates)`` distinct indices."""

    KIND: ClassVar[str] = "selection"

    needs_values: ClassVar[bool] = False
    needs_std: ClassVar[bool] = False

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"needs_values": cls.needs_values, "needs_std": cls.needs_std}

    def select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        """Indices into the candidates, in the order chosen (first = most wanted)."""
        n = candidates.X.shape[0]
        if candidates.mean.shape[0] != n:
            raise ValueError("mean must have one row per candidate")
        if self.needs_std and candidates.std is None:
            raise ValueError(f"{type(self).__name__} needs a predictive std")
        want = min(batch_size, n)
        if want <= 0:
            return np.empty(0, dtype=np.int64)
        chosen = np.asarray(self._select(candidates, want, rng), dtype=np.int64).ravel()
        if chosen.shape[0] != want or np.unique(chosen).shape[0] != want:
            raise RuntimeError(f"{type(self).__name__} returned {chosen.tolist()}, not {want} distinct picks")
        if np.any(chosen < 0) or np.any(chosen >= n):
            raise RuntimeError(f"{type(self).__name__} returned an index outside 0..{n - 1}")
        return chosen

    @abstractmethod
    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        """Exactly ``batch_size`` distinct indices (``batch_size <= n_candidates``)."""
