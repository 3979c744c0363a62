"""The feasibility rules: probability of feasibility from a predictive std, a margin without one, or none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from search_engine.feasibility.base import FeasibilityRule, slack
from search_engine.params import param
from search_engine.types import Array


@dataclass(frozen=True)
class ProbabilityRule(FeasibilityRule):
    """Probability of feasibility: the product over bounds of ``Phi(slack / std)``.

    Where the surrogate gives no std (XGBoost), the prediction is treated as exact blurred by
    ``margin`` of the bound's size: ``Phi(slack / (margin * |bound|))``, so a prediction right at the
    bound is a coin toss and one ``margin`` inside it is 84 % likely feasible.
    """

    threshold: float = param(
        0.5, "Least probability of feasibility a candidate needs while others remain.", low=0.0, high=1.0
    )
    margin: float = param(
        0.05, "Without a predictive std: the spread assumed, as a fraction of the bound.", low=1e-6, high=1.0
    )

    steers_solver = True

    @property
    def min_probability(self) -> float:
        return self.threshold

    def _probability(
        self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array
    ) -> Array:
        return np.asarray(np.prod(norm.cdf(self._z(mean, std, upper, value)), axis=1), dtype=np.float64)

    def violations(self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array) -> Array:
        """``z(threshold) - slack / spread`` per bound: met when each bound alone is ``threshold`` likely.

        Linear in the predicted slack, so far from the bounds the solver still sees which way
        feasibility lies (a probability would be flat zero there).
        """
        z_min = float(norm.ppf(min(max(self.threshold, 1e-6), 1.0 - 1e-6)))
        return np.asarray(z_min - self._z(mean, std, upper, value), dtype=np.float64)

    def _z(self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array) -> Array:
        """``(n, k)`` predicted slack in units of the spread (the std, or the margin without one)."""
        inside = slack(np.asarray(mean, dtype=np.float64), np.asarray(upper, bool), np.asarray(value, float))
        floor = self.margin * np.maximum(np.abs(value), 1e-12)[None, :]  # (1, k)
        spread = floor if std is None else np.maximum(np.asarray(std, dtype=np.float64), 1e-12 * floor)
        return np.asarray(inside / spread, dtype=np.float64)


@dataclass(frozen=True)
class IgnoreRule(FeasibilityRule):
    """Measured bounds do not steer the batch (they still decide what the front counts)."""

    def _probability(
        self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array
    ) -> Array:
        return np.ones(mean.shape[0])
