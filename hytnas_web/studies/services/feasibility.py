"""Device budgets as the pages show them: which measured rows meet a study's bounds, by how much not.

The engine decides (``search_engine.constraints``): a quantity's value comes from the architecture
(known before measuring) or from the measurement (objectives, stage latency, metrics). Here the
stored rows become the engine's inputs, and its answers become records the pages read: one
``Feasibility`` per set of rows, the bounds in words, and the share of the space under the known
bounds (computed once per study and cached: it depends on the configuration alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from search_engine.config import StudyConfig
from search_engine.constraints import (
    BOUND_SYMBOLS,
    Constraint,
    feasible_share,
    known_bounds,
    measured_values,
    study_quantities,
)
from search_engine.spaces.hytnas_counts import QUANTITY_UNITS
from search_engine.types import STAGES, Array, EvaluationResult

SHARE_CACHE_SECONDS = 30 * 24 * 3600
"""The feasible share depends on the stored configuration only, which never changes: keep it long."""

BOUND_WORDS = {"upper": "at most", "lower": "at least"}

KNOWN_QUANTITIES: dict[str, str] = {
    **{f"latency.{stage}": "ms, measured" for stage in STAGES},
    **{name: f"{unit}, known before measuring (HyT-NAS)" for name, unit in QUANTITY_UNITS.items()},
}
"""Quantity names the study form suggests beside the study's own objectives and metrics, with units."""


@dataclass(frozen=True)
class BoundLabel:
    """One bound in words (``params at most 2e+06 parameters``) and whether it is known before measuring."""

    constraint: Constraint
    unit: str
    known_before: bool

    @property
    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{self.constraint.quantity} {BOUND_WORDS[self.constraint.bound]} {self.constraint.value:g}{unit}"
        )

    @property
    def column(self) -> str:
        """The CSV / table column holding the amount of its violation: ``violation params<=2e+06``."""
        c = self.constraint
        return f"violation {c.quantity}{BOUND_SYMBOLS[c.bound]}{c.value:g}"


@dataclass(frozen=True)
class Feasibility:
    """Rows against a study's bounds.

    Attributes:
        bounds: the study's bounds, in configuration order.
        feasible: ``(n,)`` True where a row meets every bound (a failed row never does).
        violation: ``(n, n_bounds)`` amount by which each row breaks each bound, in the quantity's
            unit (0 where met, NaN where the value is unknown).
    """

    bounds: tuple[BoundLabel, ...]
    feasible: np.ndarray
    violation: np.ndarray

    def broken(self, row: int) -> list[str]:
        """``["params at most 2e+06 parameters (by 3.1e+05)", ...]``: the bounds row ``row`` breaks."""
        out = []
        for j, bound in enumerate(self.bounds):
            amount = self.violation[row, j]
            if np.isnan(amount):
                out.append(f"{bound.text} (not measured)")
            elif amount > 0:
                out.append(f"{bound.text} (by {amount:.4g})")
        return out


def bound_labels(config: StudyConfig) -> tuple[BoundLabel, ...]:
    """The study's bounds in words, with their units."""
    if not config.constraints:
        return ()
    available = study_quantities(config)
    labels = []
    for constraint in config.constraints:
        quantity = available.find(constraint.quantity)
        unit = quantity.unit if quantity is not None else ""
        labels.append(BoundLabel(constraint, unit, quantity is not None and quantity.known_before))
    return tuple(labels)


def study_results(
    objectives: Sequence[Any], stage_latency: Sequence[Any], metrics: Sequence[Any]
) -> list[EvaluationResult]:
    """Stored columns as the engine's results (only what bounds read: stage latency, metrics)."""
    return [
        EvaluationResult(
            tuple(o) if isinstance(o, list) else None,
            stage_latency=s if isinstance(s, dict) else None,
            metrics=m if isinstance(m, dict) else {},
        )
        for o, s, m in zip(objectives, stage_latency, metrics, strict=True)
    ]


def feasibility(
    config: StudyConfig, X: Array, Y: Array, results: Sequence[EvaluationResult] | None = None
) -> Feasibility | None:
    """``X (n, n_vars)`` / ``Y (n, m)`` rows against ``config``'s bounds; None for a study without any."""
    if not config.constraints:
        return None
    X = np.asarray(X, dtype=np.float64).reshape(-1, config.build_space().n_vars)
    values = measured_values(config, Y, results)
    bounds = known_bounds(config)
    if bounds is not None and X.shape[0]:
        values.update(bounds.values(X))
    n = X.shape[0]
    violation = np.full((n, len(config.constraints)), np.nan)
    feasible = np.ones(n, dtype=np.bool_)
    for j, constraint in enumerate(config.constraints):
        column = values.get(constraint.quantity)
        if column is None:
            feasible[:] = False
            continue
        violation[:, j] = constraint.violation(column)
        feasible &= constraint.met(column)
    return Feasibility(bound_labels(config), feasible, violation)


def constrained_measurements(
    config: StudyConfig, Y: Array, results: Sequence[EvaluationResult]
) -> dict[str, Array]:
    """Measured values of the bounded quantities that are not objectives (``propose(measured=)``)."""
    names = {o.name for o in config.objectives}
    return {k: v for k, v in measured_values(config, Y, results).items() if k not in names}


@dataclass(frozen=True)
class BudgetSummary:
    """What the study page says of its bounds: each in words, and the feasible share of the space."""

    bounds: tuple[BoundLabel, ...]
    share: float | None
    """Fraction of sampled architectures meeting every bound known before measuring; None without one."""
    n_sampled: int

    @property
    def share_text(self) -> str:
        """``12.5%``; a share under 0.1% keeps two significant digits (``0.05%``)."""
        if self.share is None:
            return ""
        percent = 100 * self.share
        return f"{percent:.1f}%" if percent >= 0.1 or percent == 0 else f"{percent:.2g}%"


def budget_summary(study: Study) -> BudgetSummary | None:
    """The study's bounds and feasible share (cached per study: the configuration never changes)."""
    config = study_config(study)
    if not config.constraints:
        return None
    key = f"hytnas:feasible-share:{study.pk}:{study.created_at.timestamp()}"
    cached = cache.get(key)
    if not isinstance(cached, list) or len(cached) != 2:
        found = feasible_share(config)
        cached = [found.share if found.n_sampled else None, found.n_sampled]
        cache.set(key, cached, SHARE_CACHE_SECONDS)
    return BudgetSummary(bound_labels(config), cached[0], int(cached[1]))


def finished_results(study: Study, config: StudyConfig) -> list[EvaluationResult] | None:
    """Every finished evaluation (failures included, id order) as results; None for a study without bounds.

    Aligned with ``iterations._measured``'s rows, so masks and measured columns match its ``X``, ``Y``.
    """
    if not config.constraints:
        return None
    rows = (
        study.evaluations.exclude(status=Evaluation.Status.PENDING)
        .order_by("id")
        .values_list("objectives", "stage_latency", "metrics")
    )
    return study_results(*zip(*rows, strict=True)) if rows else []


_SQL_CHUNK = 900
"""Ids per ``IN (...)`` query (SQLite limits a statement's parameters)."""


def rows_feasibility(study: Study, config: StudyConfig, ids: Sequence[int]) -> Feasibility | None:
    """The evaluations ``ids`` (in that order) against the study's bounds; None for a study without any."""
    if not config.constraints:
        return None
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _SQL_CHUNK):
        chunk = study.evaluations.filter(id__in=ids[start : start + _SQL_CHUNK])
        found.update(
            (row[0], row[1:])
            for row in chunk.values_list("id", "x", "objectives", "stage_latency", "metrics")
        )
    n_vars, m = config.build_space().n_vars, config.n_objectives
    rows = [found.get(i, (None, None, None, None)) for i in ids]
    X = np.array([r[0] if isinstance(r[0], list) and len(r[0]) == n_vars else [0.5] * n_vars for r in rows])
    objectives = [r[1] if isinstance(r[1], list) and len(r[1]) == m else None for r in rows]
    Y = np.array([o if o is not None else [np.nan] * m for o in objectives], dtype=np.float64)
    results = study_results(objectives, [r[2] for r in rows], [r[3] for r in rows])
    return feasibility(config, X.reshape(len(rows), n_vars), Y.reshape(len(rows), m), results)


def objective_bounds(config: StudyConfig) -> list[tuple[int, float, str]]:
    """``(objective index, value, words)`` of each bound on an objective: what a chart draws on its axes."""
    index = {o.name: j for j, o in enumerate(config.objectives)}
    return [
        (index[label.constraint.quantity], label.constraint.value, label.text)
        for label in bound_labels(config)
        if label.constraint.quantity in index
    ]
