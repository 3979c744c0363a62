"""Evaluation results: non-finite or miscounted objectives become failures with a reason."""

from __future__ import annotations

import math

from search_engine.types import EvaluationResult


def test_finite_values_of_the_right_count_are_accepted() -> None:
    result = EvaluationResult.checked([1, 2.5], 2, stage_latency={"backbone": 3.0})
    assert result.ok and result.objectives == (1.0, 2.5)


def test_nan_and_inf_are_failures_naming_the_objective() -> None:
    assert EvaluationResult.checked([1.0, math.nan], 2).error == "objective 1 is not a finite number (nan)"
    assert not EvaluationResult.checked([math.inf, 1.0], 2).ok


def test_wrong_number_of_values_is_a_failure() -> None:
    result = EvaluationResult.checked([1.0], 2)
    assert not result.ok and "expected 2" in (result.error or "")


def test_non_numeric_values_are_a_failure() -> None:
    assert not EvaluationResult.checked(["fast", 1.0], 2).ok
