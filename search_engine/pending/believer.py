"""Kriging believer and constant liar: in-flight points join the fit with believed values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from search_engine.params import param
from search_engine.pending.base import PendingStrategy, Predict
from search_engine.types import Array

_OBSERVED: dict[str, Callable[[Array], Array]] = {
    "min": lambda Y: Y.min(axis=0),
    "mean": lambda Y: Y.mean(axis=0),
    "max": lambda Y: Y.max(axis=0),
}
"""Constant-liar values: one statistic per objective of what has been measured so far."""


@dataclass(frozen=True)
class BelieverPending(PendingStrategy):
    """Each in-flight point enters the surrogate fit, and the measured front, with a believed value.

    The Kriging believer (Ginsbourger et al., 2010) believes the surrogate's own predicted mean:
    refitted with that point, the model's improvement there vanishes, so the next proposal moves
    elsewhere instead of repeating it or crowding next to it. A constant liar believes the same
    value everywhere: ``min`` (in minimisation form, the best value observed: optimistic, spreads
    the least), ``mean`` or ``max`` (pessimistic: pushes new proposals furthest away).
    """

    value: Literal["predicted", "min", "mean", "max"] = param(
        "predicted",
        "What an in-flight point is believed to measure: the surrogate's predicted mean (Kriging "
        "believer) or, per objective, the minimum, mean or maximum observed so far (constant liar).",
    )

    uses_predictions = True

    @classmethod
    def capabilities_for(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        return {"uses_predictions": values.get("value", "predicted") == "predicted"}

    def _fantasies(self, Y_min: Array, X_pending: Array, predict: Predict) -> Array | None:
        if self.value == "predicted":
            return predict(X_pending)
        statistic = _OBSERVED[self.value](Y_min)  # (n_objectives,)
        return np.tile(statistic, (X_pending.shape[0], 1))  # (m, n_objectives)
