"""Surrogate fidelity: how well predictions made at proposal time matched what was then measured.

Rank correlations (Kendall tau, Spearman rho) say whether the surrogate orders architectures
correctly, which is what selection relies on; RMSE and MAE say how far its values are off, in the
objective's units, and mean nothing for rank-based surrogates, whose scores are not values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from search_engine.finite_numbers import finite_or_none
from search_engine.types import Array


@dataclass(frozen=True)
class ObjectiveFidelity:
    """Agreement of predicted and measured values of one objective.

    Attributes:
        n: number of (predicted, measured) pairs used, i.e. rows where both are finite.
        kendall_tau: Kendall's tau-b, or None with fewer than 2 pairs or a constant column.
        spearman_rho: Spearman's rank correlation, None in the same cases.
        rmse: root mean squared error, or None with no pairs or for rank scores.
        mae: mean absolute error, None in the same cases.
    """

    n: int
    kendall_tau: float | None
    spearman_rho: float | None
    rmse: float | None
    mae: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (None stays None, never NaN)."""
        return asdict(self)


def surrogate_fidelity(predicted: Array, measured: Array, values: bool = True) -> list[ObjectiveFidelity]:
    """Fidelity of each objective's predictions.

    Args:
        predicted: ``(n, n_objectives)`` predictions made before measuring.
        measured: ``(n, n_objectives)`` measured values, same form (minimisation) and row order.
        values: False for rank-based surrogates, whose scores are not in the objective's units;
            RMSE and MAE are then None.

    Returns:
        One :class:`ObjectiveFidelity` per objective. A row is left out of an objective's numbers
        when its predicted or measured value of that objective is not finite (a failed
        evaluation, a diverged model).
    """
    P = np.asarray(predicted, dtype=np.float64)
    M = np.asarray(measured, dtype=np.float64)
    if P.ndim == 1:
        P, M = P.reshape(-1, 1), M.reshape(-1, 1)
    if P.ndim != 2 or P.shape != M.shape:
        raise ValueError(f"predicted {P.shape} and measured {M.shape} must have the same 2-D shape")
    return [_one_objective(P[:, j], M[:, j], values) for j in range(P.shape[1])]


def _one_objective(predicted: Array, measured: Array, values: bool) -> ObjectiveFidelity:
    """Fidelity of one objective's ``(n,)`` predictions."""
    finite = np.isfinite(predicted) & np.isfinite(measured)
    p, y = predicted[finite], measured[finite]  # (n_finite,)
    n = int(p.shape[0])
    rmse = mae = None
    if values and n:
        error = p - y
        rmse = float(np.sqrt(np.mean(error**2)))
        mae = float(np.mean(np.abs(error)))
    tau = rho = None
    # Correlation is undefined for a constant column; scipy would return NaN with a warning.
    if n >= 2 and np.ptp(p) > 0.0 and np.ptp(y) > 0.0:
        tau = finite_or_none(stats.kendalltau(p, y).statistic)
        rho = finite_or_none(stats.spearmanr(p, y).statistic)
    return ObjectiveFidelity(n=n, kendall_tau=tau, spearman_rho=rho, rmse=rmse, mae=mae)
