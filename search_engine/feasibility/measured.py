"""Bounds known only after measuring, in one proposal: which rows are feasible, which candidates likely are.

A bound on an objective is predicted by the study's surrogate (its column of the prediction); a
bound on any other measured quantity (``latency.backbone``, a reported metric) by a surrogate of
the configured kind fitted on that quantity alone. The configured feasibility rule turns the
predictions into a probability per candidate (see ``feasibility/base.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from search_engine.config import StudyConfig
from search_engine.constraints import Constraint
from search_engine.types import Array

Mask = npt.NDArray[np.bool_]

MIN_POINTS_TO_FIT = 2
"""A measured quantity with fewer finite values than this gets no surrogate and does not steer."""


def measured_constraints(config: StudyConfig) -> list[Constraint]:
    """The bounds of ``config`` on quantities known only after measuring."""
    known = config.build_space().known_quantity_units if config.constraints else {}
    return [c for c in config.constraints if c.quantity not in known]


def measured_feasible(
    config: StudyConfig, Y: Array, values: Mapping[str, Array], constraints: list[Constraint]
) -> Mask:
    """``(n,)`` True for measured rows meeting every measured bound (``Y`` in own units, finite rows).

    A bound on a quantity missing from ``values`` (not passed to the optimizer) is not held
    against any row.
    """
    names = [o.name for o in config.objectives]
    ok = np.ones(Y.shape[0], dtype=np.bool_)
    for constraint in constraints:
        if constraint.quantity in names:
            ok &= constraint.met(Y[:, names.index(constraint.quantity)])
        elif constraint.quantity in values:
            ok &= constraint.met(values[constraint.quantity])
    return ok


@dataclass(frozen=True)
class Prediction:
    """What the surrogates say of the candidates: the study's own, in minimisation form."""

    mean: Array
    std: Array | None
    predicts_values: bool


def likely_feasible(
    config: StudyConfig,
    constraints: list[Constraint],
    X_fit: Array,
    values: Mapping[str, Array],
    candidates: Array,
    prediction: Prediction,
    rng: np.random.Generator,
) -> tuple[Array, dict[str, Any]]:
    """``(n_candidates,)`` probability that each candidate meets the measured bounds, and diagnostics.

    Args:
        constraints: the measured bounds (``measured_constraints``).
        X_fit: ``(n, n_vars)`` canonical points of the finite measured rows.
        values: measured values of non-objective quantities, each ``(n,)`` aligned with ``X_fit``.
        candidates: ``(m, n_vars)`` candidate points.
        prediction: the study surrogate's prediction of the candidates.
    """
    names = [o.name for o in config.objectives]
    means, stds, upper, bound = [], [], [], []
    steering: list[str] = []
    for constraint in constraints:
        if constraint.quantity in names:
            if not prediction.predicts_values:
                continue  # a ranking says nothing about a bound in units
            j = names.index(constraint.quantity)
            sign = config.objectives[j].sign
            mean = sign * prediction.mean[:, j]
            std = None if prediction.std is None else prediction.std[:, j]
        else:
            column = np.asarray(values.get(constraint.quantity, np.empty(0)), dtype=np.float64)
            finite = np.isfinite(column) if column.shape[0] == X_fit.shape[0] else np.zeros(0, bool)
            if int(finite.sum()) < MIN_POINTS_TO_FIT:
                continue
            surrogate = config.build_surrogate()
            if not surrogate.predicts_values:
                continue
            surrogate.fit(X_fit[finite], column[finite].reshape(-1, 1), rng)
            mean_2d, std_2d = surrogate.predict(candidates)
            mean, std = mean_2d[:, 0], None if std_2d is None else std_2d[:, 0]
        means.append(mean)
        stds.append(std)
        upper.append(constraint.bound == "upper")
        bound.append(constraint.value)
        steering.append(str(constraint))
    if not means:
        return np.ones(candidates.shape[0]), {"measured_bounds_steering": []}
    known_stds = [s for s in stds if s is not None]
    std_all = np.column_stack(known_stds) if len(known_stds) == len(stds) else None
    rule = config.build_feasibility()
    probability = rule.probability(
        np.column_stack(means), std_all, np.array(upper, dtype=np.bool_), np.array(bound, dtype=np.float64)
    )
    return probability, {"measured_bounds_steering": steering}


def candidate_pool(probability: Array, threshold: float, batch: int) -> npt.NDArray[np.int64]:
    """Indices of the candidates the selector chooses from, in candidate order.

    Those at least ``threshold`` likely to be feasible; when fewer than ``batch`` are, the likeliest
    others join them, so a batch is still full.
    """
    keep = probability >= threshold
    missing = batch - int(keep.sum())
    if missing > 0:
        others = np.flatnonzero(~keep)
        keep[others[np.argsort(-probability[others], kind="stable")[:missing]]] = True
    return np.flatnonzero(keep).astype(np.int64)
