"""In-flight points are only excluded: the proposal is made as if they did not exist."""

from __future__ import annotations

from dataclasses import dataclass

from search_engine.pending.base import PendingStrategy, Predict
from search_engine.types import Array


@dataclass(frozen=True)
class IgnorePending(PendingStrategy):
    """Never proposes an in-flight architecture again, but lets the surrogate ignore them.

    The baseline: a new proposal may land right beside a point still being measured.
    """

    def _fantasies(self, Y_min: Array, X_pending: Array, predict: Predict) -> Array | None:
        return None
