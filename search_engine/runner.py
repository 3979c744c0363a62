"""A whole search in one process: initial design, then ask -> evaluate -> tell until the budget.

Used by the command line and the benchmarks. The web app runs the same steps one iteration per
background job instead, from rows in its database.

``run_pool`` runs the search on a simulated pool of workers whose evaluation times are drawn from a
seeded log-normal, in synchronous batches or keeping ``config.in_flight`` architectures in flight,
so the two modes can be compared in-process. Its clock is simulated: the seconds it reports are
exact and cost nothing to wait for, and exclude the optimizer's own time (reported as CPU seconds).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from search_engine.config import StudyConfig
from search_engine.constraints import feasible_rows, measured_values
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
    """One iteration's outcome: iteration 0 is the initial design.

    ``hypervolume`` counts feasible points only when the study has constraints; ``n_infeasible``
    is how many successful evaluations so far break one (0 without constraints).
    """

    iteration: int
    n_evaluations: int
    n_failed: int
    hypervolume: float
    timings: dict[str, float]
    n_infeasible: int = 0


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
        Y_batch = objective_rows(batch_results, config.n_objectives)
        optimizer.tell(proposal.X, Y_batch, _constrained_metrics(config, Y_batch, batch_results))
        results.extend(batch_results)
        iterations_of.extend([optimizer.iteration - 1] * len(proposal))
        origins.extend(proposal.origin)
        if reference is None:
            reference = _derive_from(optimizer.Y, config)
            if reference is not None:
                config = config.with_changes(ref_point=_in_objective_units(reference, config))
                optimizer.config = config
        record = _record(optimizer, proposal, results, batch_results, reference, config)
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


def _constrained_metrics(config: StudyConfig, Y: Array, results: list[EvaluationResult]) -> dict[str, Array]:
    """Measured values of the constrained quantities that are not objectives, for the optimizer."""
    names = {o.name for o in config.objectives}
    return {k: v for k, v in measured_values(config, Y, results).items() if k not in names}


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


def current_hypervolume(
    Y: Array,
    config: StudyConfig,
    reference: ReferencePoint,
    feasible: npt.NDArray[np.bool_] | None = None,
) -> float:
    """Hypervolume of the finite rows of ``Y`` (objectives' own units) w.r.t. ``reference``.

    ``feasible (n,)``: rows meeting every constraint (``constraints.feasible_rows``); only they count.
    """
    Y_min = to_minimisation(Y, config.objectives)
    finite = np.all(np.isfinite(Y_min), axis=1)
    ok = None if feasible is None else np.asarray(feasible, dtype=np.bool_)[finite]
    return float(hypervolume(Y_min[finite], reference.as_array(), ok))


def _record(
    optimizer: Optimizer,
    proposal: Proposal,
    results: list[EvaluationResult],
    batch: list[EvaluationResult],
    reference: ReferencePoint | None,
    config: StudyConfig,
) -> IterationRecord:
    feasible = feasible_rows(config, optimizer.X, optimizer.Y, results)
    hv = current_hypervolume(optimizer.Y, config, reference, feasible) if reference is not None else 0.0
    succeeded = np.all(np.isfinite(optimizer.Y), axis=1)
    timings: dict[str, Any] = dict(proposal.timings)
    timings["evaluate"] = float(sum(r.seconds for r in batch))
    return IterationRecord(
        iteration=optimizer.iteration - 1,
        n_evaluations=optimizer.n_evaluated,
        n_failed=int(np.sum(~np.all(np.isfinite(optimizer.Y), axis=1))),
        hypervolume=hv,
        timings=timings,
        n_infeasible=0 if feasible is None else int(np.sum(succeeded & ~feasible)),
    )


_Z95 = 1.6448536269514722
"""The standard normal's 95th percentile: a log-normal's 95th/5th percentile ratio is exp(2·z95·σ)."""


@dataclass(frozen=True)
class SimulatedPool:
    """``n_workers`` workers whose evaluation times follow a seeded log-normal distribution.

    Attributes:
        n_workers: evaluations that run at once.
        median_seconds: the median evaluation time.
        slow_to_fast: the ratio of the 95th to the 5th percentile of evaluation times (10: one
            evaluation in twenty takes ten times as long as the fastest one in twenty).
        seed: seeds the evaluation times, drawn one per evaluation in the order they start.
    """

    n_workers: int
    median_seconds: float = 1.0
    slow_to_fast: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {self.n_workers}")
        if not (self.median_seconds > 0 and self.slow_to_fast >= 1):
            raise ValueError("median_seconds must be positive and slow_to_fast at least 1")

    @property
    def sigma(self) -> float:
        """The log-normal's shape: the std of log(seconds)."""
        return math.log(self.slow_to_fast) / (2 * _Z95)


@dataclass(frozen=True)
class TracePoint:
    """The state of a pool run just after one tell."""

    seconds: float
    n_evaluations: int
    hypervolume: float


@dataclass
class PoolResult:
    """A search on a simulated pool: what ``run_search`` reports, plus the pool's clock.

    Attributes:
        run: evaluations in the order their results arrived (``iterations_of`` gives each one's ask).
        finished_at: ``(n,)`` simulated second at which each evaluation's result arrived.
        simulated_seconds: when the last result arrived.
        busy_seconds: evaluation seconds summed over workers.
        n_asks: optimizer calls made.
        proposal_cpu_seconds: CPU time the optimizer's asks took (not part of the simulated clock).
        trace: hypervolume after each tell, against evaluations and simulated time.
    """

    run: RunResult
    n_workers: int
    finished_at: Array
    simulated_seconds: float
    busy_seconds: float
    n_asks: int
    proposal_cpu_seconds: float
    trace: list[TracePoint]

    @property
    def idle_fraction(self) -> float:
        """Share of worker time spent waiting, from the start to the last result."""
        capacity = self.n_workers * self.simulated_seconds
        return 1.0 - self.busy_seconds / capacity if capacity > 0 else 0.0


@dataclass(order=True)
class _Running:
    finishes_at: float
    order: int
    key: str = field(compare=False)
    row: Array = field(compare=False)
    result: EvaluationResult = field(compare=False)


class _PoolClock:
    """Queue, workers and clock of a pool run; evaluations are computed when they start."""

    def __init__(self, pool: SimulatedPool, evaluator: Evaluator, optimizer: Optimizer) -> None:
        self.pool, self.evaluator, self.optimizer = pool, evaluator, optimizer
        self.rng = np.random.default_rng(pool.seed)
        self.now = 0.0
        self.busy = 0.0
        self.queue: list[tuple[str, Array, dict[str, Any]]] = []
        self.running: list[_Running] = []
        self.started = 0

    def enqueue(self, proposal: Proposal) -> None:
        self.queue.extend(zip(proposal.keys, proposal.X, proposal.architectures, strict=True))
        self._start_free_workers()

    def _start_free_workers(self) -> None:
        while self.queue and len(self.running) < self.pool.n_workers:
            key, row, architecture = self.queue.pop(0)
            seconds = self.pool.median_seconds * float(np.exp(self.pool.sigma * self.rng.standard_normal()))
            [result] = self.evaluator.evaluate([architecture])
            self.busy += seconds
            heapq.heappush(self.running, _Running(self.now + seconds, self.started, key, row, result))
            self.started += 1

    def next_result(self) -> _Running:
        """Advance the clock to the next result; its worker takes the next queued architecture."""
        done = heapq.heappop(self.running)
        self.now = done.finishes_at
        self._start_free_workers()
        return done


def run_pool(config: StudyConfig, evaluator: Evaluator, pool: SimulatedPool) -> PoolResult:
    """Run ``config`` to its budget on ``pool``: synchronous batches, or ``config.in_flight`` in flight.

    Synchronous (``in_flight`` None): ask the initial design, then ``batch_size`` at a time; each
    batch is told once its slowest member is done. Asynchronous: ask the initial design, then
    whenever a result arrives and fewer than ``in_flight`` architectures are queued or running, ask
    for the difference at once, conditioned on those still in flight. Never more than the budget is
    asked for; the patience setting is not used here. The reference point is the configured one
    (or derived once from the first successful results and then kept).
    """
    optimizer = Optimizer(config)
    clock = _PoolClock(pool, evaluator, optimizer)
    asked_in: dict[str, tuple[int, str]] = {}
    """Per architecture key: the ask that proposed it and the proposal's origin for it."""
    done: list[_Running] = []
    trace: list[TracePoint] = []
    reference = config.reference_point()
    cpu = 0.0

    def ask(count: int) -> int:
        nonlocal cpu
        tick = time.process_time()
        proposal = optimizer.ask(count)
        cpu += time.process_time() - tick
        asked_in.update(
            (key, (optimizer.iteration - 1, origin))
            for key, origin in zip(proposal.keys, proposal.origin, strict=True)
        )
        clock.enqueue(proposal)
        return len(proposal)

    def tell(finished: list[_Running]) -> None:
        nonlocal reference
        rows = objective_rows([f.result for f in finished], config.n_objectives)
        optimizer.tell(np.array([f.row for f in finished]), rows)
        done.extend(finished)
        reference = reference or _derive_from(optimizer.Y, config)
        feasible = feasible_rows(config, optimizer.X, optimizer.Y, [f.result for f in done])
        hv = current_hypervolume(optimizer.Y, config, reference, feasible) if reference is not None else 0.0
        trace.append(TracePoint(clock.now, optimizer.n_evaluated, hv))

    def room() -> int:
        return config.budget - optimizer.n_evaluated - optimizer.n_pending

    ask(min(config.n_init, config.budget))
    while optimizer.n_pending:
        if config.in_flight is None:
            batch = [clock.next_result() for _ in range(optimizer.n_pending)]
            tell(sorted(batch, key=lambda f: f.order))  # in proposal order, as run_search does
            want = min(config.batch_size, room())
        else:
            tell([clock.next_result()])
            want = min(config.in_flight - optimizer.n_pending, room())
        if want > 0:
            ask(want)
    run = RunResult(
        config=config,
        reference_point=reference or ReferencePoint((), True, "none: no evaluation succeeded"),
        X=optimizer.X,
        Y=optimizer.Y,
        results=[f.result for f in done],
        iterations_of=[asked_in[f.key][0] for f in done],
        origins=[asked_in[f.key][1] for f in done],
        history=[],
    )
    return PoolResult(
        run=run,
        n_workers=pool.n_workers,
        finished_at=np.array([f.finishes_at for f in done], dtype=np.float64),
        simulated_seconds=clock.now,
        busy_seconds=clock.busy,
        n_asks=optimizer.iteration,
        proposal_cpu_seconds=cpu,
        trace=trace,
    )
