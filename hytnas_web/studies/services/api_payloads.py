"""Checking what evaluation workers send, before anything is written.

Every rule a report must meet lives here, so the API can refuse a bad payload with a message naming
the field (``objectives[1]``, ``stage_latency.neck``) and the database never sees half of it.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from hytnas_web.studies.services import json_input
from hytnas_web.studies.services.json_input import JSONLimitError

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 8  # levels of arrays and objects in a body: a report needs three
MAX_CLAIM = 64
LEASE_SECONDS = (30, 86400)
DEFAULT_LEASE_SECONDS = 600
MAX_DEVICE_KEYS = 64
MAX_METRICS = 200
MAX_STAGES = 16
MAX_TEXT = 10_000
MAX_NAME = 200


class PayloadError(ValueError):
    """A payload that breaks a rule; ``field`` names the offending value (None: the whole body)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BodyTooLarge(PayloadError):
    """A body over ``MAX_BODY_BYTES`` (HTTP 413)."""


@dataclass(frozen=True)
class ClaimRequest:
    """What a worker asks for: how many evaluations, for how long, and what it is."""

    max_evaluations: int = 1
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    device: dict[str, Any] = field(default_factory=dict)
    study: int | None = None


@dataclass(frozen=True)
class Report:
    """One evaluation's outcome as a worker reports it."""

    lease: uuid.UUID
    status: str
    objectives: tuple[float, ...] | None
    stage_latency: dict[str, float] | None
    metrics: dict[str, Any]
    error: str
    seconds: float | None
    device: dict[str, Any] | None


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object in a request body (an empty body is an empty object)."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(None, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if not body.strip():
        return {}
    try:
        data = json_input.loads(body, max_bytes=MAX_BODY_BYTES, max_depth=MAX_DEPTH, what="the body")
    except JSONLimitError as exc:
        raise PayloadError(None, str(exc)) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise PayloadError(None, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError(None, "the body must be a JSON object")
    return data


def parse_claim(data: dict[str, Any]) -> ClaimRequest:
    """A checked claim request (see the API description for the rules)."""
    _no_unknown(data, {"max_evaluations", "lease_seconds", "device", "study"})
    study = data.get("study")
    return ClaimRequest(
        max_evaluations=_integer(data, "max_evaluations", 1, 1, MAX_CLAIM),
        lease_seconds=parse_lease_seconds(data),
        device=check_device(data.get("device"), "device") or {},
        study=None if study is None else _integer(data, "study", 0, 1, 2**62),
    )


def parse_lease_seconds(data: dict[str, Any]) -> int:
    """``lease_seconds`` within bounds (default ten minutes)."""
    return _integer(data, "lease_seconds", DEFAULT_LEASE_SECONDS, *LEASE_SECONDS)


def parse_report(data: dict[str, Any], n_objectives: int) -> Report:
    """A checked report for a study with ``n_objectives`` objectives."""
    _no_unknown(
        data, {"lease", "status", "objectives", "stage_latency", "metrics", "error", "seconds", "device"}
    )
    try:
        lease = uuid.UUID(str(data.get("lease", "")))
    except ValueError:
        raise PayloadError("lease", "give the lease id the claim returned") from None
    status = data.get("status")
    if status not in ("done", "failed"):
        raise PayloadError("status", 'must be "done" or "failed"')
    objectives = None
    error = ""
    if status == "done":
        objectives = _objectives(data.get("objectives"), n_objectives)
        if data.get("error"):
            raise PayloadError("error", 'a "done" report carries no error; report "failed" instead')
    else:
        if data.get("objectives") is not None:
            raise PayloadError("objectives", 'a "failed" report carries no objectives')
        error = _text(data.get("error") or "", "error")
        if not error.strip():
            raise PayloadError("error", "say why the evaluation failed")
    seconds = data.get("seconds")
    return Report(
        lease=lease,
        status=status,
        objectives=objectives,
        stage_latency=_stage_latency(data.get("stage_latency")),
        metrics=_metrics(data.get("metrics")),
        error=error,
        seconds=None if seconds is None else _number(seconds, "seconds", low=0.0),
        device=check_device(data.get("device"), "device"),
    )


def _objectives(value: Any, n_objectives: int) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise PayloadError("objectives", f"give a list of {n_objectives} numbers, one per objective")
    if len(value) != n_objectives:
        raise PayloadError(
            "objectives", f"the study has {n_objectives} objectives; {len(value)} values were sent"
        )
    return tuple(_number(v, f"objectives[{i}]") for i, v in enumerate(value))


def _stage_latency(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError("stage_latency", 'give an object such as {"backbone": 4.2, "neck": 1.1}')
    if len(value) > MAX_STAGES:
        raise PayloadError("stage_latency", f"at most {MAX_STAGES} stages")
    return {_key(k, "stage_latency"): _number(v, f"stage_latency.{k}", low=0.0) for k, v in value.items()}


def _metrics(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError("metrics", "give an object of named numbers, strings or booleans")
    if len(value) > MAX_METRICS:
        raise PayloadError("metrics", f"at most {MAX_METRICS} metrics")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        name = _key(key, "metrics")
        if isinstance(item, bool) or item is None:
            checked[name] = item
        elif isinstance(item, str):
            checked[name] = _text(item, f"metrics.{name}", MAX_NAME)
        else:
            checked[name] = _exact(item, f"metrics.{name}")
    return checked


def check_device(value: Any, name: str) -> dict[str, Any] | None:
    """A flat object describing a machine: short strings, numbers and booleans only."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError(name, "describe the device as an object (name, processor, cpu_count, ...)")
    if len(value) > MAX_DEVICE_KEYS:
        raise PayloadError(name, f"at most {MAX_DEVICE_KEYS} keys")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        label = _key(key, name)
        if isinstance(item, bool) or item is None:
            checked[label] = item
        elif isinstance(item, str):
            checked[label] = _text(item, f"{name}.{label}", MAX_NAME)
        elif isinstance(item, int | float):
            checked[label] = _exact(item, f"{name}.{label}")
        else:
            raise PayloadError(f"{name}.{label}", "must be a string, a number or a boolean")
    return checked


def _integer(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(name, f"must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise PayloadError(name, f"must be from {low} to {high}, got {value}")
    return value


def _exact(value: Any, name: str) -> int | float:
    """A finite number kept as sent: counts (cores, parameters) stay whole numbers."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        return value
    return _number(value, name)


def _number(value: Any, name: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(name, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise PayloadError(name, "must be a finite number")
    if low is not None and number < low:
        raise PayloadError(name, f"must be at least {low:g}, got {number:g}")
    return number


def _text(value: Any, name: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    if len(value) > limit:
        raise PayloadError(name, f"at most {limit} characters")
    return value


def _key(key: Any, name: str) -> str:
    if not isinstance(key, str) or not key or len(key) > 100:
        raise PayloadError(name, f"names must be 1 to 100 characters, got {key!r}")
    return key


def _no_unknown(data: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise PayloadError(unknown[0], f"unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}")
