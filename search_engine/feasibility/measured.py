"""Bounds known only after measuring, in one proposal: which rows are feasible, which candidates likely are.

A bound on an objective is predicted by the study's surrogate (its column of the prediction); a
bound on any other measured quantity (``latency.backbone``, a reported metric) by a surrogate of
the configured kind fitted on that quantity alone. The configured feasibility rule turns the
predictions into a probability per candidate (see ``feasibility/base.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class MeasuredBounds:
    """Surrogates of the measured bounds, fitted once per proposal, for the solver and the batch alike.

    ``models[i]`` is None for a bound on an objective (the study surrogate's prediction serves);
    otherwise the surrogate fitted on that quantity alone.
    """

    config: StudyConfig
    constraints: tuple[Constraint, ...]
    models: tuple[Any, ...]
    study_surrogate: Any

    @property
    def steering(self) -> list[str]:
        """The bounds that steer, as written."""
        return [str(c) for c in self.constraints]

    def predicted(self, points: Array, prediction: Prediction | None = None) -> tuple[Array, Array | None]:
        """``(mean (n, k), std (n, k) or None)`` of each bound's quantity, in its own unit."""
        names = [o.name for o in self.config.objectives]
        if prediction is None and any(m is None for m in self.models):
            mean_s, std_s = self.study_surrogate.predict(points)
            prediction = Prediction(mean_s, std_s, True)
        means, stds = [], []
        for constraint, model in zip(self.constraints, self.models, strict=True):
            if model is None:
                assert prediction is not None
                j = names.index(constraint.quantity)
                means.append(self.config.objectives[j].sign * prediction.mean[:, j])
                stds.append(None if prediction.std is None else prediction.std[:, j])
            else:
                mean_2d, std_2d = model.predict(points)
                means.append(mean_2d[:, 0])
                stds.append(None if std_2d is None else std_2d[:, 0])
        known_stds = [s for s in stds if s is not None]
        std_all = np.column_stack(known_stds) if len(known_stds) == len(stds) else None
        return np.column_stack(means), std_all

    def _bounds(self) -> tuple[npt.NDArray[np.bool_], Array]:
        upper = np.array([c.bound == "upper" for c in self.constraints], dtype=np.bool_)
        return upper, np.array([c.value for c in self.constraints], dtype=np.float64)

    def probability(self, points: Array, prediction: Prediction | None = None) -> Array:
        """``(n,)`` probability that each point meets every measured bound (the configured rule)."""
        mean, std = self.predicted(points, prediction)
        return self.config.build_feasibility().probability(mean, std, *self._bounds())

    def solver_violations(self) -> Callable[[Array], Array] | None:
        """``(n, n_vars) -> (n, k)`` the rule's predicted violations (``<= 0`` likely met) for the solver.

        None when the rule does not steer the solver (``ignore``).
        """
        rule = self.config.build_feasibility()
        if not rule.steers_solver:
            return None

        def violations(points: Array) -> Array:
            mean, std = self.predicted(points)
            return rule.violations(mean, std, *self._bounds())

        return violations


def fit_measured_bounds(
    config: StudyConfig,
    constraints: list[Constraint],
    X_fit: Array,
    values: Mapping[str, Array],
    surrogate: Any,
    rng: np.random.Generator,
) -> MeasuredBounds | None:
    """Fit a surrogate per measured bound's quantity (the study's own for objectives); None if none steers.

    Args:
        constraints: the measured bounds (``measured_constraints``).
        X_fit: ``(n, n_vars)`` canonical points of the finite measured rows.
        values: measured values of non-objective quantities, each ``(n,)`` aligned with ``X_fit``.
        surrogate: the study's fitted surrogate (it predicts bounds on objectives).
    """
    names = [o.name for o in config.objectives]
    kept: list[Constraint] = []
    models: list[Any] = []
    for constraint in constraints:
        if constraint.quantity in names:
            if not surrogate.predicts_values:
                continue  # a ranking says nothing about a bound in units
            kept.append(constraint)
            models.append(None)
            continue
        column = np.asarray(values.get(constraint.quantity, np.empty(0)), dtype=np.float64)
        finite = np.isfinite(column) if column.shape[0] == X_fit.shape[0] else np.zeros(0, bool)
        if int(finite.sum()) < MIN_POINTS_TO_FIT:
            continue
        model = config.build_surrogate()
        if not model.predicts_values:
            continue
        model.fit(X_fit[finite], column[finite].reshape(-1, 1), rng)
        kept.append(constraint)
        models.append(model)
    if not kept:
        return None
    return MeasuredBounds(config, tuple(kept), tuple(models), surrogate)


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
