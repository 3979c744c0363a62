"""How much of an accuracy signal is network size: its rank correlation with the parameter count.

Training-free proxies and short training runs are cheap stand-ins for accuracy, and bigger networks
tend to score higher on all of them. A proxy whose ranking of architectures is almost that of their
parameter count adds little a closed-form count would not give for free; one that ranks them
differently measures something else (whether that something is accuracy is another question).
Spearman's rho over the measured architectures says which, and the study pages show it beside every
proxy objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from search_engine.finite_numbers import finite_or_none
from search_engine.types import Array

MIN_POINTS = 3
"""Architectures needed for a correlation worth showing (two points always correlate perfectly)."""


@dataclass(frozen=True)
class SizeCorrelation:
    """Spearman's rho of a signal with the parameter count over ``n`` architectures.

    Attributes:
        n: architectures with both values finite.
        spearman_rho: rank correlation in [-1, 1]; None with fewer than ``MIN_POINTS`` architectures
            or a constant column (undefined).
    """

    n: int
    spearman_rho: float | None


def size_correlation(values: Array, params: Array) -> SizeCorrelation:
    """Spearman's rho of ``values`` with ``params``, both ``(n,)``, over the rows where both are finite."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    params = np.asarray(params, dtype=np.float64).reshape(-1)
    if values.shape != params.shape:
        raise ValueError(f"values {values.shape} and params {params.shape} must have the same length")
    finite = np.isfinite(values) & np.isfinite(params)
    x, y = values[finite], params[finite]  # (n_finite,)
    n = int(x.shape[0])
    # Undefined for a constant column: scipy would return NaN with a warning.
    if n < MIN_POINTS or np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        return SizeCorrelation(n, None)
    return SizeCorrelation(n, finite_or_none(stats.spearmanr(x, y).statistic))
