"""Bring your own evaluation: a Python client that measures a study's architectures with the user's code.

A study whose evaluator is ``external`` keeps its proposed architectures on the server until some
code claims them. This module is that code's side, for notebooks and scripts on any machine that
reaches the studio (standard library and numpy only)::

    from search_engine.client import optimize

    def evaluate(architecture):
        accuracy, latency = train_and_time(architecture)  # your pipeline, your device
        return {"accuracy": accuracy, "latency": latency, "metrics": {"params": 1.2e6}}

    optimize(evaluate, url="http://127.0.0.1:8000", token="hyt_...", workers=4)

or step by step: ``studio = connect(url, token)``, ``item = studio.ask()[0]``, measure
``item.architecture`` (the dict of its variables; ``item.x`` is the same point of the unit cube),
then ``studio.tell(item, objectives={...})`` or ``studio.tell_failure(item, reason)``. While an item
is in hand a background thread extends its lease, so a long training run keeps its work. Telling
twice is harmless; the server's refusals raise :class:`ApiError` with its message naming the field.

The HTTP side (requests, errors, lease keeping) is the evaluation worker's (``search_engine.worker``).
"""

from __future__ import annotations

import math
import numbers
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.devices import describe_device
from search_engine.worker.client import ApiClient, ApiError, Backoff
from search_engine.worker.lease import LeaseKeeper

__all__ = [
    "ApiError",
    "ObjectiveSpec",
    "OptimizeSummary",
    "ResultError",
    "Studio",
    "WorkItem",
    "connect",
    "optimize",
]

#: The kind of work this client claims: studies whose evaluator is ``external``.
WORK_KIND = "external"
DEFAULT_LEASE_SECONDS = 600
#: A report's attempts when the server cannot be reached or answers 5xx: a measurement is worth keeping.
TELL_ATTEMPTS = 5

Objectives = Mapping[str, float] | Sequence[float]
"""A result's objectives: by name, or a sequence in the study's order."""


class ResultError(ValueError):
    """A result this client will not send (a NaN, an infinity); ``field`` names the value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{message} (field {field})")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective of the study as declared in its form: ``direction`` is ``min`` or ``max``."""

    name: str
    direction: str
    unit: str


@dataclass(frozen=True, eq=False)
class WorkItem:
    """One claimed architecture of a study.

    Attributes:
        id: the evaluation's id on the server.
        study: the study's id; ``study_name`` its name.
        architecture: the decoded design variables, ``{name: value}``.
        x: the same architecture as a point of the unit cube, ``(n_vars,)`` float64.
        objectives: what a result reports, in the study's order.
        metrics: the only extra metric names a result may carry (None: any).
        lease: the lease that holds it.
    """

    id: int
    study: int
    study_name: str
    key: str
    architecture: dict[str, Any]
    x: np.ndarray
    objectives: tuple[ObjectiveSpec, ...]
    metrics: tuple[str, ...] | None
    lease: str

    @classmethod
    def from_claim(cls, entry: Mapping[str, Any], lease: str) -> WorkItem:
        """One entry of a claim's ``evaluations``, as the API sends it (KeyError: a field is missing)."""
        metrics = entry.get("metrics")
        return cls(
            id=int(entry["id"]),
            study=int(entry["study"]["id"]),
            study_name=str(entry["study"]["name"]),
            key=str(entry["key"]),
            architecture=dict(entry["architecture"]),
            x=np.asarray(entry["x"], dtype=np.float64),  # (n_vars,)
            objectives=tuple(
                ObjectiveSpec(str(o["name"]), str(o["direction"]), str(o.get("unit", "")))
                for o in entry["objectives"]
            ),
            metrics=None if metrics is None else tuple(str(m) for m in metrics),
            lease=lease,
        )


@dataclass
class _HeldLease:
    keeper: LeaseKeeper
    open_items: set[int] = field(default_factory=set)


class Studio:
    """A connection to a studio's worker API with one worker token (see the module docstring).

    Args:
        url: the studio's address, e.g. ``http://127.0.0.1:8000``.
        token: a worker token made on the Tokens page.
        study: take work of this study only (None: any external study the token reaches).
        lease_seconds: how long the server holds a claimed item if this process goes silent; it is
            extended every third of that while the item is in hand.
        device: what to record as the measuring machine (default: a description of this one).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        study: int | None = None,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        device: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api = ApiClient(url, token, timeout=timeout)
        self.study = study
        self.lease_seconds = lease_seconds
        self.device = dict(device) if device is not None else describe_device()
        self.studies_running: int | None = None
        """From the last ask: running external studies the token reaches (0: no more work will come)."""
        self._leases: dict[str, _HeldLease] = {}
        self._lock = threading.Lock()

    def ask(self, n: int = 1) -> list[WorkItem]:
        """Claim up to ``n`` architectures (an empty list when none is waiting now).

        Raises:
            ApiError: the server refused (a bad token, a study the token does not reach) or did not answer.
        """
        answer = self.api.claim(n, self.lease_seconds, self.device, self.study, evaluator=WORK_KIND)
        self.studies_running = int(answer.get("studies_running", 0))
        lease = answer.get("lease")
        if lease is None or not answer.get("evaluations"):
            return []
        items = [WorkItem.from_claim(entry, str(lease["id"])) for entry in answer["evaluations"]]
        keeper = LeaseKeeper(self.api, str(lease["id"]), self.lease_seconds)
        with self._lock:
            self._leases[str(lease["id"])] = _HeldLease(keeper, {item.id for item in items})
        keeper.__enter__()
        return items

    def tell(
        self,
        item: WorkItem,
        objectives: Objectives,
        stage_latency: Mapping[str, float] | None = None,
        metrics: Mapping[str, Any] | None = None,
        seconds: float | None = None,
    ) -> bool:
        """Report ``item``'s measurement; True when recorded now, False when it had been already.

        Args:
            objectives: ``{name: value}`` for every objective of the study, or the values in
                ``item.objectives``' order, in their own units (accuracy in %, not negated).
            stage_latency: optional ms per stage, e.g. ``{"backbone": 4.2, "head": 0.3}``.
            metrics: optional named extras, among ``item.metrics`` when the study declares them.
            seconds: optional wall time of the evaluation.

        Raises:
            ResultError: a value is NaN or infinite (nothing is sent).
            ApiError: the server refused the result (its message names the field); nothing was written.
        """
        payload: dict[str, Any] = {"status": "done", "objectives": _objective_values(objectives)}
        if stage_latency is not None:
            payload["stage_latency"] = _numbers(stage_latency, "stage_latency")
        if metrics is not None:
            payload["metrics"] = _numbers(metrics, "metrics")
        if seconds is not None:
            payload["seconds"] = float(seconds)
        return self._report(item, payload)

    def tell_failure(self, item: WorkItem, reason: str, seconds: float | None = None) -> bool:
        """Report that ``item`` could not be measured, and why; True when recorded now."""
        payload: dict[str, Any] = {"status": "failed", "error": str(reason)[-10_000:] or "failed"}
        if seconds is not None:
            payload["seconds"] = float(seconds)
        return self._report(item, payload)

    def close(self) -> None:
        """Stop keeping every lease alive (items not told go back to the server when their lease ends)."""
        with self._lock:
            held, self._leases = list(self._leases.values()), {}
        for lease in held:
            lease.keeper.__exit__(None, None, None)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _report(self, item: WorkItem, payload: dict[str, Any]) -> bool:
        payload = {"lease": item.lease, **payload, "device": self.device}
        backoff = Backoff(first=0.5, cap=5.0)
        for attempt in range(TELL_ATTEMPTS):
            try:
                status, _ = self.api.report(item.id, payload)
                break
            except ApiError as exc:
                if not exc.retryable or attempt == TELL_ATTEMPTS - 1:
                    raise
                time.sleep(backoff.next())
        self._release(item)
        return status == 201

    def _release(self, item: WorkItem) -> None:
        """Stop extending ``item``'s lease once every item it holds has been told."""
        with self._lock:
            held = self._leases.get(item.lease)
            if held is None:
                return
            held.open_items.discard(item.id)
            if held.open_items:
                return
            del self._leases[item.lease]
        held.keeper.__exit__(None, None, None)


def connect(url: str, token: str, **options: Any) -> Studio:
    """A :class:`Studio` whose token the server has just accepted (raises ApiError otherwise)."""
    studio = Studio(url, token, **options)
    studio.api.whoami()
    return studio


@dataclass(frozen=True)
class OptimizeSummary:
    """What an :func:`optimize` run told the studio: results recorded and failures."""

    done: int
    failed: int


Evaluate = Callable[[dict[str, Any]], Mapping[str, Any]]
"""The user's evaluation: an architecture dict in; objectives by name (+ ``metrics``,
``stage_latency``) out."""


def optimize(
    fn: Evaluate,
    *,
    url: str,
    token: str,
    workers: int = 1,
    processes: bool = False,
    study: int | None = None,
    poll_seconds: float = 1.0,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> OptimizeSummary:
    """Measure architectures with ``fn`` in ``workers`` threads (or processes) until no study has work.

    ``fn(architecture)`` returns ``{objective name: value, ...}``, optionally with ``"metrics"``
    (a dict) and ``"stage_latency"`` (ms per stage). An exception raised by ``fn`` becomes a failed
    evaluation whose reason is the exception's text. The loop stops once no external study the token
    reaches is running (finished, paused or cancelled); while one is still proposing, it waits
    ``poll_seconds`` between asks. With ``processes=True``, ``fn`` runs in a pool of processes (it
    must then be importable, i.e. defined at a module's top level).

    Raises:
        ApiError: the server refused a request for good (a revoked token, a refused result).
    """
    studio = connect(url, token, study=study, lease_seconds=lease_seconds)
    pool: Executor | None = ProcessPoolExecutor(max_workers=workers) if processes else None
    counts = {"done": 0, "failed": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            while not errors:
                items = studio.ask(1)
                if not items:
                    if studio.studies_running == 0:
                        return
                    time.sleep(poll_seconds)
                    continue
                for item in items:
                    outcome = _measure_and_tell(studio, fn, item, pool)
                    with lock:
                        counts[outcome] += 1
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"optimize-{i}", daemon=True) for i in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        studio.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if errors:
        raise errors[0]
    return OptimizeSummary(done=counts["done"], failed=counts["failed"])


def _measure_and_tell(studio: Studio, fn: Evaluate, item: WorkItem, pool: Executor | None) -> str:
    """Run ``fn`` on one item and tell the outcome: ``"done"`` or ``"failed"``."""
    start = time.perf_counter()
    try:
        answer = fn(item.architecture) if pool is None else pool.submit(fn, item.architecture).result()
        objectives, stage_latency, metrics = _split_answer(answer)
    except Exception as exc:
        reason = traceback.format_exception_only(type(exc), exc)[-1].strip()
        studio.tell_failure(item, reason, seconds=time.perf_counter() - start)
        return "failed"
    studio.tell(item, objectives, stage_latency, metrics, seconds=time.perf_counter() - start)
    return "done"


def _split_answer(
    answer: Any,
) -> tuple[dict[str, Any], Mapping[str, float] | None, Mapping[str, Any] | None]:
    """``fn``'s dict as (objectives by name, stage latency, metrics)."""
    if not isinstance(answer, Mapping):
        raise TypeError(f"the evaluation returned {type(answer).__name__}; return a dict of objectives")
    extras = ("metrics", "stage_latency")
    objectives = {str(k): v for k, v in answer.items() if k not in extras}
    return objectives, answer.get("stage_latency"), answer.get("metrics")


def _objective_values(objectives: Objectives) -> Any:
    """By name or by position, numpy numbers as floats; anything else goes for the server to name."""
    if isinstance(objectives, Mapping):
        return {str(name): _number(value, f"objectives.{name}") for name, value in objectives.items()}
    if not isinstance(objectives, Sequence) or isinstance(objectives, str | bytes):
        return objectives
    return [_number(value, f"objectives[{i}]") for i, value in enumerate(objectives)]


def _numbers(values: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {str(key): _number(value, f"{name}.{key}") for key, value in values.items()}


def _number(value: Any, field: str) -> Any:
    """A float for any real number (numpy's too); other values go as they are, for the server to judge.

    NaN and infinities have no JSON form: they are refused here, as the server would.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value.item() if isinstance(value, np.generic) else value
    number = float(value)
    if not math.isfinite(number):
        raise ResultError(field, "must be a finite number")
    return int(value) if isinstance(value, numbers.Integral) else number
