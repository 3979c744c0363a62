"""Parameter schemas: what a component accepts, with defaults, bounds and help text.

A component is a dataclass and declares each parameter once, as a field made by :func:`param`::

    max_depth: int = param(6, "Maximum depth of each tree.", low=1, high=16)

The field's annotation gives the kind (``int``, ``float``, ``bool``, ``str``, ``Literal[...]`` for a
choice, anything else JSON) and ``| None`` makes it optional. From that one declaration come the
constructor keyword and its default, the :class:`Param` schema a web form renders and
``describe()`` prints, and the validation both of what a form sends back and of direct
construction (see ``Component.__post_init__``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from search_engine.errors import ConfigError

ParamKind = Literal["int", "float", "bool", "choice", "str", "json"]

_DECLARED = "search_engine.param"
"""Key of a field's metadata under which :func:`param` stores the declaration."""

_KINDS: dict[Any, ParamKind] = {bool: "bool", int: "int", float: "float", str: "str"}


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


@dataclass(frozen=True)
class _Declaration:
    """What :func:`param` records; the kind and name are added from the field by :func:`schema_of`."""

    default: Any
    help: str
    low: float | None
    high: float | None
    choices: tuple[Any, ...] | None
    kind: ParamKind | None


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Sequence[Any] | None = None,
    kind: ParamKind | None = None,
) -> Any:
    """A dataclass field that is a component parameter (see the module docstring).

    Args:
        default: the constructor's default and the form's initial value. A list or dict default is
            copied for each instance.
        help: one sentence a user reads next to the input.
        low, high: inclusive bounds of a number.
        choices: the allowed values, for choices a ``Literal`` cannot spell (e.g. floats).
        kind: overrides the kind the annotation implies (rarely needed).
    """
    declared = _Declaration(default, help, low, high, tuple(choices) if choices else None, kind)
    metadata = {_DECLARED: declared}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def schema_of(cls: type) -> tuple[Param, ...]:
    """The :class:`Param` of every field of dataclass ``cls`` declared with :func:`param`, in order."""
    if cls not in _SCHEMAS:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        _SCHEMAS[cls] = tuple(
            _param_of(cls, f, f.metadata[_DECLARED]) for f in fields if _DECLARED in f.metadata
        )
    return _SCHEMAS[cls]


_SCHEMAS: dict[type, tuple[Param, ...]] = {}
"""Schemas by class, derived on first use (a class's fields never change)."""


def _param_of(cls: type, field: dataclasses.Field[Any], declared: _Declaration) -> Param:
    annotation, optional = _strip_none(_annotation(cls, field))
    choices = declared.choices
    if choices is None and get_origin(annotation) is Literal:
        choices = get_args(annotation)
    kind: ParamKind = declared.kind or ("choice" if choices else _KINDS.get(annotation, "json"))
    return Param(
        field.name,
        kind,
        declared.default,
        declared.help,
        low=declared.low,
        high=declared.high,
        choices=choices,
        optional=optional,
    )


def _annotation(cls: type, field: dataclasses.Field[Any]) -> Any:
    """The field's annotation as an object (modules use ``from __future__ import annotations``)."""
    if not isinstance(field.type, str):
        return field.type
    owner = next(c for c in cls.__mro__ if field.name in inspect.get_annotations(c))
    return eval(field.type, vars(sys.modules[owner.__module__]))  # what typing.get_type_hints does


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(annotation, False)``."""
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
        rest = tuple(a for a in get_args(annotation) if a is not type(None))
        return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return annotation, False


def resolve_params(schema: Sequence[Param], given: Mapping[str, Any], field: str) -> dict[str, Any]:
    """Validate ``given`` against ``schema`` and fill in defaults.

    Args:
        schema: the component's ``schema()``.
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
    return {
        p.name: p.validate(
            given[p.name] if p.name in given else copy.deepcopy(p.default), f"{field}.{p.name}"
        )
        for p in schema
    }


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
