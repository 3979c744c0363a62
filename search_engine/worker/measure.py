"""Measuring one claimed architecture and turning the result into the report body the API accepts."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from search_engine.errors import ConfigError
from search_engine.evaluators import onnx_runtime
from search_engine.registry import EVALUATORS
from search_engine.types import EvaluationResult

MAX_ERROR_CHARS = 10_000  # the API refuses longer failure messages


def runtimes_here() -> tuple[str, ...]:
    """The runtimes the torch evaluator can measure latency in on this machine.

    Eager PyTorch always (the worker measures with torch); ONNX Runtime when onnxruntime and onnx
    import here. A claim that lists them is never handed a study this machine could only fail.
    """
    return ("eager", "onnxruntime") if onnx_runtime.available() else ("eager",)


def evaluate_claimed(evaluation: Mapping[str, Any], threads: int | None = None) -> EvaluationResult:
    """Build the claim's evaluator by name and measure its one architecture; never raises.

    Args:
        evaluation: one entry of a claim's ``evaluations`` (``evaluator``, ``architecture``,
            ``objectives``).
        threads: replaces the evaluator's ``threads`` parameter when given and the evaluator has one.

    Returns:
        The measurement, or a failed result saying why (bad settings, an exception, an evaluator
        whose objectives do not match the study's).
    """
    start = time.perf_counter()
    try:
        spec = evaluation["evaluator"]
        name, params = spec["name"], dict(spec.get("params") or {})
        if threads is not None and any(p.name == "threads" for p in EVALUATORS.params(name)):
            params["threads"] = threads
        evaluator = EVALUATORS.build(name, params, "evaluator")
        expected = [o.get("name") for o in evaluation.get("objectives") or []]
        measured = [o.name for o in evaluator.objectives]
        if expected and len(expected) != len(measured):
            return EvaluationResult.failure(
                f"the study expects objectives {expected}, evaluator {name!r} measures {measured}",
                time.perf_counter() - start,
            )
        result: EvaluationResult = evaluator.evaluate([evaluation["architecture"]])[0]
        return result
    except ConfigError as exc:
        return EvaluationResult.failure(f"bad evaluator settings: {exc}", time.perf_counter() - start)
    except KeyError as exc:
        return EvaluationResult.failure(f"the claim has no {exc} field", time.perf_counter() - start)
    except Exception as exc:  # the worker outlives any one architecture
        detail = f"{type(exc).__name__}: {exc}"
        return EvaluationResult.failure(
            f"the worker could not evaluate it: {detail}", time.perf_counter() - start
        )


def report_payload(result: EvaluationResult, lease_id: str, device: Mapping[str, Any]) -> dict[str, Any]:
    """The report body for ``result``: JSON-safe, non-finite extras dropped (JSON has no NaN).

    A result with a missing or non-finite objective becomes a failed report, so the server is never
    sent a measurement it must refuse.
    """
    payload: dict[str, Any] = {"lease": lease_id, "seconds": _seconds(result.seconds), "device": dict(device)}
    metrics = _finite_metrics(result.metrics)
    if metrics:
        payload["metrics"] = metrics
    bad = [i for i, v in enumerate(result.objectives or ()) if not is_finite(v)]
    error = None
    if result.error is not None:
        error = result.error.strip() or "the evaluator failed without saying why"  # the API needs a reason
    elif result.objectives is None:
        error = "the evaluator returned no objectives"
    elif bad:
        error = f"objective {bad[0]} is not a finite number"
    if error is not None:
        if len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        payload.update(status="failed", error=error)
        return payload
    objectives = [float(v) for v in result.objectives or ()]
    payload.update(status="done", objectives=objectives)
    stages = {
        str(k): float(v) for k, v in (result.stage_latency or {}).items() if is_finite(v) and float(v) >= 0.0
    }
    if stages:
        payload["stage_latency"] = stages
    return payload


def is_finite(value: Any) -> bool:
    """Whether ``value`` is a number that JSON can carry (not NaN or ±inf); False for anything else."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float | int | str | bool]:
    """Numbers as plain floats/ints (numpy scalars included), text and flags as they are; NaN/inf dropped."""
    clean: dict[str, float | int | str | bool] = {}
    for key, value in metrics.items():
        if isinstance(value, bool | str | int):  # text, flags and whole numbers as they are
            clean[str(key)] = value
        elif is_finite(value):
            clean[str(key)] = float(value)
    return clean


def _seconds(value: float) -> float:
    return float(value) if is_finite(value) and value > 0 else 0.0
