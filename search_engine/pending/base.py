"""Pending-point interface: what the surrogate is told about architectures still in flight.

With several workers a proposal is made while earlier ones are still being measured. Their keys are
always excluded from the new proposal (the optimizer does that); a strategy decides, beyond that,
which values the in-flight points take in the surrogate fit and the selection, so the new batch
neither repeats them nor crowds next to them. Values are in minimisation form, like ``Y_min``
everywhere in the optimizer; ``None`` leaves the in-flight points out of the fit altogether.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.types import Array

Predict = Callable[[Array], Array]
"""``predict(X) -> mean``: ``(m, n_objectives)`` means of a surrogate fitted on the measured points only."""


class PendingStrategy(Component, ABC):
    """Base class: checks shapes and finiteness around ``_fantasies``.

    ``uses_predictions`` says whether the strategy reads the surrogate's predicted means as objective
    values, which a rank-based surrogate cannot give (the configuration check reads the flag).
    """

    KIND: ClassVar[str] = "pending"

    uses_predictions: ClassVar[bool] = False

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"uses_predictions": cls.uses_predictions}

    def fantasies(self, Y_min: Array, X_pending: Array, predict: Predict) -> Array | None:
        """The values the in-flight points take in the fit, or None to keep them out of it.

        Args:
            Y_min: ``(n, n_objectives)`` finite measured values, minimisation form (``n >= 1``).
            X_pending: ``(m, n_vars)`` canonical in-flight points, ``m >= 1``.
            predict: the measured-only surrogate's means at given points (fitted when first called).

        Returns:
            ``(m, n_objectives)`` finite values in minimisation form, or None.
        """
        Y_min = np.asarray(Y_min, dtype=np.float64)
        if Y_min.ndim != 2 or Y_min.shape[0] == 0:
            raise ValueError(f"expected at least one measured row, got Y of shape {Y_min.shape}")
        if X_pending.ndim != 2 or X_pending.shape[0] == 0:
            raise ValueError(
                f"expected at least one in-flight point, got X_pending of shape {X_pending.shape}"
            )
        values = self._fantasies(Y_min, X_pending, predict)
        if values is None:
            return None
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (X_pending.shape[0], Y_min.shape[1]):
            raise RuntimeError(f"{type(self).__name__} returned values of shape {values.shape}")
        if not np.all(np.isfinite(values)):
            raise RuntimeError(f"{type(self).__name__} returned non-finite values for in-flight points")
        return values

    @abstractmethod
    def _fantasies(self, Y_min: Array, X_pending: Array, predict: Predict) -> Array | None:
        """``(m, n_objectives)`` values for the in-flight points, or None (inputs already checked)."""
