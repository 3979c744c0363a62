"""Parameter schemas: what a component accepts, with defaults, bounds and help text.

Every registered component class declares ``PARAMS``, a tuple of :class:`Param`. The same schema
renders a web form, validates what the form sends back, and fills in defaults, so a parameter's
name, bounds and help are written once, next to the constructor keyword they feed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from search_engine.errors import ConfigError

ParamKind = Literal["int", "float", "bool", "choice", "str", "json"]


@dataclass(frozen=True)
class Param:
    """One constructor keyword of a component.

    Attributes:
        name: keyword name.
        kind: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``str`` or ``json``
            (any JSON-able value, e.g. a list of variables; checked by the component itself).
        default: value used when the caller gives none. ``None`` is allowed only with
            ``optional=True``.
        help: one sentence a user reads next to the input.
        low, high: inclusive bounds for ``int`` and ``float``.
        choices: allowed values for ``choice``.
        optional: ``None`` is a valid value (meaning "not set").
    """

    name: str
    kind: ParamKind
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False

    def validate(self, value: Any, field: str) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ConfigError naming ``field``."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(field, "a value is required")
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(field, f"expected true or false, got {value!r}")
            return value
        if self.kind in ("int", "float"):
            return self._validate_number(value, field)
        if self.kind == "choice":
            assert self.choices is not None
            if value not in self.choices:
                known = ", ".join(repr(c) for c in self.choices)
                raise ConfigError(field, f"{value!r} is not one of {known}")
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise ConfigError(field, f"expected text, got {value!r}")
            return value
        return value  # json: the component validates the structure

    def _validate_number(self, value: Any, field: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(field, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(field, f"expected a finite number, got {value!r}")
        number: int | float
        if self.kind == "int":
            if float(value) != int(value):
                raise ConfigError(field, f"expected a whole number, got {value!r}")
            number = int(value)
        else:
            number = float(value)
        if self.low is not None and number < self.low:
            raise ConfigError(field, f"{number} is below the minimum {_fmt(self.low)}")
        if self.high is not None and number > self.high:
            raise ConfigError(field, f"{number} is above the maximum {_fmt(self.high)}")
        return number

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description for forms and ``describe()``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "help": self.help,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
            "optional": self.optional,
        }


def resolve_params(schema: Sequence[Param], given: Mapping[str, Any], field: str) -> dict[str, Any]:
    """Validate ``given`` against ``schema`` and fill in defaults.

    Args:
        schema: the component's ``PARAMS``.
        given: values the user supplied (may be partial).
        field: dotted path of the params mapping, e.g. ``"surrogate.params"``; errors name
            ``field.<param>``.

    Returns:
        A complete keyword dict for the component's constructor.
    """
    if not isinstance(given, Mapping):
        raise ConfigError(field, f"expected a mapping of parameter names to values, got {given!r}")
    by_name = {p.name: p for p in schema}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(by_name) or "none"
        raise ConfigError(f"{field}.{unknown[0]}", f"unknown parameter; known parameters: {known}")
    return {p.name: p.validate(given.get(p.name, p.default), f"{field}.{p.name}") for p in schema}


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
