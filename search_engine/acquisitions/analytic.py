"""Closed-form acquisitions on a Gaussian predictive distribution: identity, PI, EI and UCB.

Every objective is minimised, and every acquisition returns values to *minimise*: PI and EI are
returned negated (more probable / larger improvement = more negative), UCB is the lower confidence
bound ``mean - beta * std``. Each objective column is scored on its own against that objective's
best measured value ``best``; the solver then trades the columns off against each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from search_engine.acquisitions.base import Acquisition
from search_engine.params import param
from search_engine.types import Array

_RELATIVE_STD_FLOOR = 1e-12
"""Below ``floor * max(1, |gain|)`` a std counts as zero: |z| would exceed 1e12, where Φ(z) is exactly
0 or 1 and φ(z) exactly 0 in float64, so the zero-std limit is the exact value, not an approximation."""

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _standardised_gain(
    mean: Array, std: Array, best: Array, xi: float
) -> tuple[Array, Array, npt.NDArray[np.bool_]]:
    """``gain = best - xi - mean``, ``z = gain / std`` and the mask of rows where std is usable.

    All three are ``(n, n_objectives)``; ``z`` is 0 where the std is (numerically) zero.
    """
    gain = best[None, :] - xi - mean  # (n, n_objectives), positive = improvement
    usable = std > _RELATIVE_STD_FLOOR * np.maximum(1.0, np.abs(gain))
    z: Array = np.divide(gain, std, out=np.zeros_like(gain), where=usable)
    return gain, z, usable


@dataclass(frozen=True)
class IdentityAcquisition(Acquisition):
    """The predicted mean itself: pure exploitation, usable with any surrogate (rank scores too)."""

    def _evaluate(self, mean: Array, std: Array | None, best: Array) -> Array:
        return mean.copy()


@dataclass(frozen=True)
class _ImprovementAcquisition(Acquisition):
    """Shared by PI and EI: both measure improvement below ``best - xi`` in objective units."""

    needs_std: ClassVar[bool] = True
    needs_values: ClassVar[bool] = True

    xi: float = param(
        0.0,
        "Margin (in objective units) a point must beat the best value by; larger favours exploration.",
        low=0.0,
    )


@dataclass(frozen=True)
class PIAcquisition(_ImprovementAcquisition):
    """Negated probability of improvement, ``-P(f < best - xi) = -Φ((best - xi - mean) / std)``.

    With std = 0 the outcome is certain: PI is 1 when the mean beats ``best - xi`` and 0 otherwise.
    """

    def _evaluate(self, mean: Array, std: Array | None, best: Array) -> Array:
        assert std is not None
        gain, z, usable = _standardised_gain(mean, std, best, self.xi)
        pi = np.where(usable, ndtr(z), (gain > 0).astype(np.float64))  # (n, n_objectives)
        return -pi


@dataclass(frozen=True)
class EIAcquisition(_ImprovementAcquisition):
    """Negated expected improvement below ``best - xi`` under ``f ~ N(mean, std²)``.

    ``EI = (best - xi - mean) Φ(z) + std φ(z)`` with ``z = (best - xi - mean) / std``; as std → 0
    it tends to ``max(best - xi - mean, 0)``, which is used where the std is numerically zero.
    """

    def _evaluate(self, mean: Array, std: Array | None, best: Array) -> Array:
        assert std is not None
        gain, z, usable = _standardised_gain(mean, std, best, self.xi)
        density = _INV_SQRT_2PI * np.exp(-0.5 * z * z)  # φ(z), (n, n_objectives)
        ei = gain * ndtr(z) + std * density
        # Far in the lower tail the two terms cancel to a tiny negative number: EI is never below 0.
        ei = np.where(usable, np.maximum(ei, 0.0), np.maximum(gain, 0.0))
        return -ei


@dataclass(frozen=True)
class UCBAcquisition(Acquisition):
    """Lower confidence bound ``mean - beta * std`` (the minimisation form of UCB).

    ``beta = 0`` is the mean alone; larger values reward uncertainty, i.e. explore more. It compares
    no value against ``best``, so rank-score surrogates with a spread may use it.
    """

    needs_std: ClassVar[bool] = True
    needs_values: ClassVar[bool] = False

    beta: float = param(2.0, "Weight of the predictive std; larger explores more.", low=0.0, high=100.0)

    def _evaluate(self, mean: Array, std: Array | None, best: Array) -> Array:
        assert std is not None
        return mean - self.beta * std
