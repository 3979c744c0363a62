"""Template filters that turn stored study data (numbers, architectures, specs) into short text."""

from __future__ import annotations

from typing import Any

from django import template

from hytnas_web.studies import formatting, services
from search_engine.types import PHASES  # a plain name; the engine's computing stays in services

register = template.Library()

DASH = formatting.DASH


@register.filter
def number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; a dash for missing values (``formatting.number``)."""
    return formatting.number(value, digits)


@register.filter
def file_size(value: Any) -> str:
    """A size in bytes in words (``1.0 MB``), number and unit kept on one line."""
    try:
        return formatting.file_size(int(value), joiner=formatting.NBSP)
    except (TypeError, ValueError):
        return DASH


@register.filter
def count(value: Any) -> str:
    """A whole number with thousands grouped ("2,304,320"), for parameters and multiply-adds."""
    if value is None or isinstance(value, bool):
        return DASH
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError, OverflowError):
        return str(value)


@register.filter
def seconds(value: Any) -> str:
    """Seconds as ``1.23 s``; a dash when the phase did not run."""
    if value is None:
        return DASH
    try:
        return f"{float(value):.3g} s"
    except (TypeError, ValueError):
        return DASH


@register.simple_tag
def phase_names() -> tuple[str, ...]:
    """The phases of an iteration whose seconds are recorded, in the order they run."""
    return PHASES


@register.filter
def timing(timings: Any, phase: str) -> str:
    """The seconds an iteration spent in ``phase`` (one of ``phase_names``)."""
    if not isinstance(timings, dict):
        return DASH
    return seconds(timings.get(phase))


@register.filter
def architecture(value: Any) -> str:
    """A decoded architecture on one line: ``x0=0.1234, x1=0.5``."""
    if not isinstance(value, dict):
        return DASH if value is None else str(value)
    return ", ".join(f"{name}={_value(v)}" for name, v in value.items())


def _value(value: Any) -> str:
    return number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


@register.filter
def params(value: Any) -> str:
    """Component parameters as ``pop_size=20, n_gen=5``; ``defaults`` when none are set."""
    if not isinstance(value, dict) or not value:
        return "defaults"
    return ", ".join(f"{name}={_value(v)}" for name, v in value.items())


@register.filter
def objective_label(objective: Any) -> str:
    """``accuracy (%) ↑`` or ``latency (ms) ↓``: name, unit and which way is better."""
    if not isinstance(objective, dict):
        return str(objective)
    unit = f" ({objective['unit']})" if objective.get("unit") else ""
    arrow = "↑" if objective.get("direction") == "max" else "↓"
    return f"{objective.get('name', '?')}{unit} {arrow}"


@register.filter
def space_summary(space: Any) -> str:
    """What a study searches, in a few words."""
    if not isinstance(space, dict):
        return DASH
    if space.get("name") == "hytnas":
        return "HyT-NAS hybrid conv/attention space (23 variables)"
    if space.get("name") == "hytnas-mobilevit":
        return "HyT-NAS extended to reach MobileViT (27 variables)"
    variables = (space.get("params") or {}).get("variables") or []
    shown = ", ".join(_variable(v) for v in variables[:8])
    more = f", … ({len(variables)} in all)" if len(variables) > 8 else ""
    return f"{len(variables)} variables: {shown}{more}"


def _variable(variable: Any) -> str:
    if not isinstance(variable, dict):
        return str(variable)
    if variable.get("type") == "choice":
        return f"{variable.get('name')} ∈ {{{', '.join(str(c) for c in variable.get('choices', []))}}}"
    low, high = _value(variable.get("low")), _value(variable.get("high"))
    return f"{variable.get('name')} {variable.get('type')} [{low}, {high}]"


@register.filter
def evaluator_summary(evaluator: Any) -> str:
    """How a study measures architectures, without the tables' contents."""
    if not isinstance(evaluator, dict):
        return DASH
    params_ = dict(evaluator.get("params") or {})
    if evaluator.get("name") == "table":
        tables = params_.pop("tables", []) or []
        params_.pop("objectives", None)
        params_.pop("space", None)
        described = "; ".join(
            f"{t.get('name', '?')} ({', '.join(t.get('objectives') or []) or 'all objectives'})"
            for t in tables
            if isinstance(t, dict)
        )
        return f"predictor fitted on {len(tables)} measured table(s): {described}; {params(params_)}"
    return f"{evaluator.get('name')}: {params(params_)}"


@register.filter
def device_label(device: Any) -> str:
    """The device that measured an evaluation, on one line ("" when none was recorded)."""
    return services.device_label(device)


@register.filter
def words(value: Any) -> str:
    """``provides_std`` -> ``provides std``."""
    return str(value).replace("_", " ")
