"""Evaluator interface: a batch of architectures in, one :class:`EvaluationResult` per architecture out.

One architecture's failure never sinks the batch: an exception, a wrong number of values or a NaN
becomes a failed result carrying the reason, and the others keep their measurements.
"""

from __future__ import annotations

import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from search_engine.component import Component
from search_engine.objectives import Objective
from search_engine.spaces.base import SearchSpace
from search_engine.types import Architecture, EvaluationResult

#: Where a study's evaluations run. ``inline``: inside the iteration job, for evaluators that take
#: milliseconds (a formula, a fitted predictor). ``queue``: one job per architecture on the
#: evaluations queue, taken by any RQ worker that reaches the same Redis and database. ``remote``:
#: held in the database until a worker claims them over the JSON API (``python -m search_engine.worker``).
DISPATCHES = ("inline", "queue", "remote")


class Evaluator(Component, ABC):
    """Base class. Subclasses implement ``_evaluate_one`` (or ``_evaluate_batch`` when vectorised)."""

    KIND: ClassVar[str] = "evaluator"

    DISPATCH: ClassVar[str] = "inline"

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        """``dispatch``: where the web app runs this evaluator's work (one of ``DISPATCHES``)."""
        return {"dispatch": cls.DISPATCH}

    objectives: tuple[Objective, ...]
    """The objectives this evaluator reports, in result order.

    An attribute, not an abstract property, because one evaluator takes them as a parameter of the
    same name (the table evaluator); the others set it in ``__post_init__`` from their parameters.
    """

    @classmethod
    def reported_metrics(cls, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Metric names every result carries, from the resolved parameters alone (nothing is built).

        A study may bound them (``constraints.py``); evaluators measured outside declare theirs
        with ``metric_names()`` instead.
        """
        return ()

    @classmethod
    def exact(cls, params: Mapping[str, Any]) -> bool:
        """Whether a measurement is exact: the same architecture always gets the same values.

        True for a formula or a fitted predictor, so a surrogate should pass through every
        measurement rather than read part of the data as noise (``search_engine.auto`` sets its
        Gaussian process so). False by default: training, latency on a device and a user's own
        code vary from run to run.
        """
        return False

    @classmethod
    def required_space(cls, params: Mapping[str, Any]) -> str | None:
        """The registry key of the one space a study of this evaluator may search (None: any).

        An evaluator that builds its own networks (``torch``, ``remote``) can measure architectures
        of the space it builds only; ``StudyConfig.validate`` refuses any other.
        """
        return None

    @classmethod
    def reference_architectures(cls, params: Mapping[str, Any]) -> dict[str, Architecture]:
        """Named architectures the study measures in its initial design besides the sampled ones.

        None by default; the torch evaluators offer MobileViT-XXS, XS and S (``measure_references``).
        """
        return {}

    def default_space(self) -> SearchSpace | None:
        """The space this evaluator is made for, when it implies one (benchmarks, HyT-NAS tables)."""
        return None

    def default_reference_point(self) -> tuple[float, ...] | None:
        """A reference point in the objectives' own units, when the problem has a customary one."""
        return None

    @property
    def evaluates_batches(self) -> bool:
        """True when a batch costs about as little as one architecture (a vectorised ``_evaluate_batch``).

        The web app's iteration job then measures its pending architectures in one call and writes
        them in one transaction; otherwise it measures and saves them one at a time, so a pause or a
        killed worker keeps every measurement taken so far.
        """
        return type(self)._evaluate_batch is not Evaluator._evaluate_batch

    def evaluate(self, architectures: Sequence[Architecture]) -> list[EvaluationResult]:
        """Measure every architecture; failures become results with ``error`` set.

        When the vectorised path raises (or answers for the wrong number of architectures), each
        architecture is measured on its own, and those that fail then say why the batch did too.
        """
        n_obj = len(self.objectives)
        start = time.perf_counter()
        try:
            raw = self._evaluate_batch(list(architectures))
        except Exception as exc:
            raw = None  # the vectorised path failed: isolate the culprit one architecture at a time
            batch_failure = f"the batch of {len(architectures)} raised {_exception_text(exc)}"
        else:
            batch_failure = ""
            if raw is not None and len(raw) != len(architectures):
                batch_failure = f"the batch gave {len(raw)} results for {len(architectures)}"
        if raw is not None and len(raw) == len(architectures):
            per_item = (time.perf_counter() - start) / max(len(architectures), 1)
            return [self._result(value, n_obj, per_item) for value in raw]
        results = [self._evaluate_isolated(arch, n_obj) for arch in architectures]
        if not batch_failure:
            return results
        return [
            r if r.ok else replace(r, error=f"{r.error} (measured on its own after {batch_failure})")
            for r in results
        ]

    def _evaluate_isolated(self, architecture: Architecture, n_obj: int) -> EvaluationResult:
        start = time.perf_counter()
        try:
            value = self._evaluate_one(architecture)
        except Exception as exc:
            seconds = time.perf_counter() - start
            return EvaluationResult.failure(f"evaluation raised {_exception_text(exc)}", seconds)
        return self._result(value, n_obj, time.perf_counter() - start)

    @staticmethod
    def _result(value: Any, n_obj: int, seconds: float) -> EvaluationResult:
        if isinstance(value, EvaluationResult):
            if not value.ok:
                return value
            return EvaluationResult.checked(
                value.objectives,
                n_obj,
                stage_latency=value.stage_latency,
                metrics=value.metrics,
                seconds=value.seconds or seconds,
            )
        return EvaluationResult.checked(value, n_obj, seconds=seconds)

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        """Vectorised evaluation, one value (sequence or EvaluationResult) per architecture.

        Return None to fall back to ``_evaluate_one`` per architecture (the default).
        """
        return None

    @abstractmethod
    def _evaluate_one(self, architecture: Architecture) -> Any:
        """Objective values (sequence of floats) or a full EvaluationResult for one architecture."""


def _exception_text(exc: BaseException) -> str:
    """``RuntimeError: device unplugged``: an exception's type and message, on one line."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()
