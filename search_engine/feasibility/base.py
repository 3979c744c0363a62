"""Feasibility-rule interface: the chance that a candidate meets the bounds known only after measuring.

A bound on a latency, a stage's latency or a reported metric cannot be checked before measuring:
a surrogate per constrained quantity predicts it. A rule turns those predictions into a
probability of feasibility per candidate; the optimizer keeps the candidates at least
``min_probability`` likely to be feasible (topping up with the likeliest others when too few are),
so evaluations are not spent on architectures that will break a budget.

Values arrive in each quantity's own units (not minimisation form): ``mean (n, k)`` and ``std
(n, k)`` or None for the ``k`` measured bounds, with ``upper (k,)`` True for an upper bound and
``value (k,)`` the bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from search_engine.component import Component
from search_engine.types import Array


class FeasibilityRule(Component, ABC):
    """Base class: checks shapes, returns probabilities in [0, 1]."""

    KIND: ClassVar[str] = "feasibility"

    needs_std: ClassVar[bool] = False

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"needs_std": cls.needs_std}

    steers_solver: ClassVar[bool] = False
    """True when the rule also hands the solver its predicted violations (``violations``)."""

    @property
    def min_probability(self) -> float:
        """Candidates less likely than this to be feasible are passed over while others remain."""
        return 0.0

    def probability(
        self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array
    ) -> Array:
        """``(n,)`` probability that each candidate meets every measured bound (independent bounds)."""
        mean = np.asarray(mean, dtype=np.float64)
        n, k = mean.shape
        if std is not None and np.asarray(std).shape != (n, k):
            raise ValueError(f"std must have the shape of mean {(n, k)}")
        if np.asarray(upper).shape != (k,) or np.asarray(value).shape != (k,):
            raise ValueError(f"expected {k} bounds")
        if k == 0:
            return np.ones(n)
        p = np.asarray(self._probability(mean, std, np.asarray(upper, bool), np.asarray(value, float)))
        return np.clip(p.reshape(n), 0.0, 1.0)

    def violations(self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array) -> Array:
        """``(n, k)`` per-bound predicted violations, ``<= 0`` where the rule deems the bound met.

        The solver gets them as constraints, so it searches where the batch will be chosen
        instead of leaving the rule only infeasible candidates to pass over.
        """
        raise NotImplementedError(f"{type(self).__name__} does not steer the solver")

    @abstractmethod
    def _probability(
        self, mean: Array, std: Array | None, upper: npt.NDArray[np.bool_], value: Array
    ) -> Array:
        """``(n,)`` probabilities for ``mean (n, k)`` with ``k >= 1``."""


def slack(mean: Array, upper: npt.NDArray[np.bool_], value: Array) -> Array:
    """``(n, k)`` distance inside each bound: positive where the prediction meets it."""
    return np.where(upper[None, :], value[None, :] - mean, mean - value[None, :])
