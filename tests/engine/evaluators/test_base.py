"""The evaluator base: one architecture's failure (exception, NaN, wrong count) never sinks the batch."""

from __future__ import annotations

import math
from typing import Any

import pytest

from search_engine.evaluators.base import Evaluator
from search_engine.objectives import Objective
from search_engine.types import Architecture, EvaluationResult


class _PerArchitecture(Evaluator):
    """f = (x, 2x), except: x = 3 raises, x = 4 gives NaN, x = 5 gives one value, x = 6 a failed result."""

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("a"), Objective("b", "max", "%"))

    def _evaluate_one(self, architecture: Architecture) -> Any:
        x = architecture["x"]
        if x == 3:
            raise RuntimeError("device unplugged")
        if x == 4:
            return (math.nan, 1.0)
        if x == 5:
            return (1.0,)
        if x == 6:
            return EvaluationResult.failure("out of memory")
        return (float(x), 2.0 * x)


class _Vectorised(_PerArchitecture):
    """A batch path that returns NaN for x = 4 and raises on x = 3; counts its calls."""

    def __init__(self) -> None:
        self.batch_calls = 0
        self.single_calls = 0

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        self.batch_calls += 1
        if any(a["x"] == 3 for a in architectures):
            raise RuntimeError("batch failed")
        return [(math.nan, 0.0) if a["x"] == 4 else (float(a["x"]), 2.0 * a["x"]) for a in architectures]

    def _evaluate_one(self, architecture: Architecture) -> Any:
        self.single_calls += 1
        return super()._evaluate_one(architecture)


def test_an_exception_fails_only_its_architecture() -> None:
    results = _PerArchitecture().evaluate([{"x": 1}, {"x": 3}, {"x": 2}])
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].objectives == (1.0, 2.0)
    assert results[2].objectives == (2.0, 4.0)
    assert "RuntimeError" in (results[1].error or "") and "device unplugged" in (results[1].error or "")
    assert results[1].objectives is None


@pytest.mark.parametrize(
    ("x", "reason"), [(4, "not a finite number"), (5, "expected 2 objective values"), (6, "out of memory")]
)
def test_nan_wrong_count_or_failed_result_fails_only_its_architecture(x: int, reason: str) -> None:
    results = _PerArchitecture().evaluate([{"x": 1}, {"x": x}, {"x": 7}])
    assert [r.ok for r in results] == [True, False, True]
    assert reason in (results[1].error or "")
    assert results[2].objectives == (7.0, 14.0)


def test_a_nan_from_the_batch_path_fails_only_that_row() -> None:
    evaluator = _Vectorised()
    results = evaluator.evaluate([{"x": 1}, {"x": 4}, {"x": 2}])
    assert [r.ok for r in results] == [True, False, True]
    assert (evaluator.batch_calls, evaluator.single_calls) == (1, 0)


def test_a_raising_batch_falls_back_to_one_at_a_time() -> None:
    evaluator = _Vectorised()
    results = evaluator.evaluate([{"x": 1}, {"x": 3}, {"x": 2}])
    assert [r.ok for r in results] == [True, False, True]
    assert results[2].objectives == (2.0, 4.0)
    assert (evaluator.batch_calls, evaluator.single_calls) == (1, 3)


def test_an_empty_batch_gives_no_results() -> None:
    assert _PerArchitecture().evaluate([]) == []


def test_an_architecture_failing_after_a_raising_batch_says_why_the_batch_failed() -> None:
    results = _Vectorised().evaluate([{"x": 1}, {"x": 3}, {"x": 2}])
    error = results[1].error or ""
    assert "device unplugged" in error
    assert "measured on its own after the batch of 3 raised RuntimeError: batch failed" in error
    assert results[0].error is None and results[2].error is None


class _Miscounting(_PerArchitecture):
    """A batch path that loses the last architecture."""

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        return [(float(a["x"]), 2.0 * a["x"]) for a in architectures[:-1]]


def test_a_batch_answering_for_too_few_is_measured_one_at_a_time_and_says_so() -> None:
    results = _Miscounting().evaluate([{"x": 1}, {"x": 6}])
    assert results[0].objectives == (1.0, 2.0)
    assert results[1].error == "out of memory (measured on its own after the batch gave 1 results for 2)"


def test_only_a_vectorised_evaluator_evaluates_batches() -> None:
    from search_engine.evaluators.benchmark import BenchmarkEvaluator

    assert _Vectorised().evaluates_batches and not _PerArchitecture().evaluates_batches
    assert BenchmarkEvaluator().evaluates_batches
    assert not BenchmarkEvaluator(
        delay=0.1
    ).evaluates_batches  # a simulated slow measurement: saved one by one
