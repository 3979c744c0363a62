"""A whole search in one process: initial design, then ask -> evaluate -> tell until the budget.

Used by the command line and the benchmarks. The web app runs the same steps one iteration per
background job instead, from rows in its database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.config import StudyConfig
from search_engine.evaluators.base import Evaluator
from search_engine.metrics.hypervolume import hypervolume
from search_engine.objectives import (
    ReferencePoint,
    derive_reference_point,
    from_minimisation,
    to_minimisation,
)
from search_engine.optimizer import Optimizer
from search_engine.types import Array, EvaluationResult, Proposal


@dataclass(frozen=True)
class IterationRecord:
    """One iteration's outcome: iteration 0 is the initial design."""

    iteration: int
    n_evaluations: int
    n_failed: int
    hypervolume: float
    timings: dict[str, float]


@dataclass
class RunResult:
    """Everything a run measured, in evaluation order."""

    config: StudyConfig
    reference_point: ReferencePoint
    X: Array
    Y: Array
    results: list[EvaluationResult] = field(default_factory=list)
    iterations_of: list[int] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    history: list[IterationRecord] = field(default_factory=list)


def run_search(
    config: StudyConfig,
    evaluator: Evaluator,
    on_iteration: Callable[[IterationRecord], None] | None = None,
) -> RunResult:
    """Run ``config`` to its budget (or its patience) with ``evaluator``.

    The reference point is the configured one, or, when none is given, derived once from the
    initial design and then kept, so every iteration's hypervolume is measured the same way.
    """
    optimizer = Optimizer(config)
    results: list[EvaluationResult] = []
    iterations_of: list[int] = []
    origins: list[str] = []
    history: list[IterationRecord] = []
    reference = config.reference_point()
    best_hv, stale = -np.inf, 0
    while optimizer.n_evaluated < config.budget:
        remaining = config.budget - optimizer.n_evaluated
        want = min(config.n_init if optimizer.iteration == 0 else config.batch_size, remaining)
        proposal = optimizer.ask(want)
        if len(proposal) == 0:
            break  # the space holds no new architecture
        batch_results = evaluator.evaluate(proposal.architectures)
        optimizer.tell(proposal.X, objective_rows(batch_results, config.n_objectives))
        results.extend(batch_results)
        iterations_of.extend([optimizer.iteration - 1] * len(proposal))
        origins.extend(proposal.origin)
        if reference is None:
            reference = _derive_from(optimizer.Y, config)
            if reference is not None:
                config = config.with_changes(ref_point=_in_objective_units(reference, config))
                optimizer.config = config
        record = _record(optimizer, proposal, batch_results, reference, config)
        history.append(record)
        if on_iteration is not None:
            on_iteration(record)
        if record.hypervolume > best_hv * (1 + 1e-12) + 1e-15:
            best_hv, stale = record.hypervolume, 0
        else:
            stale += 1
            if config.patience is not None and stale >= config.patience:
                break
    return RunResult(
        config=config,
        reference_point=reference or ReferencePoint((), True, "none: no evaluation succeeded"),
        X=optimizer.X,
        Y=optimizer.Y,
        results=results,
        iterations_of=iterations_of,
        origins=origins,
        history=history,
    )


def objective_rows(results: list[EvaluationResult], n_objectives: int) -> Array:
    """``(n, n_objectives)`` measured values in the objectives' own units; NaN rows for failures."""
    rows = [r.objectives if r.ok and r.objectives is not None else (np.nan,) * n_objectives for r in results]
    return np.array(rows, dtype=np.float64).reshape(len(results), n_objectives)


def _derive_from(Y: Array, config: StudyConfig) -> ReferencePoint | None:
    try:
        return derive_reference_point(to_minimisation(Y, config.objectives))
    except ValueError:
        return None  # nothing succeeded yet; try again after the next batch


def _in_objective_units(reference: ReferencePoint, config: StudyConfig) -> tuple[float, ...]:
    return tuple(float(v) for v in from_minimisation(reference.as_array(), config.objectives))


def current_hypervolume(Y: Array, config: StudyConfig, reference: ReferencePoint) -> float:
    """Hypervolume of the finite rows of ``Y`` (objectives' own units) w.r.t. ``reference``."""
    Y_min = to_minimisation(Y, config.objectives)
    finite = Y_min[np.all(np.isfinite(Y_min), axis=1)]
    return float(hypervolume(finite, reference.as_array()))


def _record(
    optimizer: Optimizer,
    proposal: Proposal,
    batch: list[EvaluationResult],
    reference: ReferencePoint | None,
    config: StudyConfig,
) -> IterationRecord:
    hv = current_hypervolume(optimizer.Y, config, reference) if reference is not None else 0.0
    timings: dict[str, Any] = dict(proposal.timings)
    timings["evaluate"] = float(sum(r.seconds for r in batch))
    return IterationRecord(
        iteration=optimizer.iteration - 1,
        n_evaluations=optimizer.n_evaluated,
        n_failed=int(np.sum(~np.all(np.isfinite(optimizer.Y), axis=1))),
        hypervolume=hv,
        timings=timings,
    )
