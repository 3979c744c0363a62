"""Spaces built from a JSON-able list of variables: integer, float, log-float and choice.

Encoding rules (one per variable type, applied column by column):

- ``float`` in [low, high]: value = low + x * (high - low); continuous, so the canonical point is
  the point itself.
- ``log-float`` in [low, high], low > 0: log(value) is linear in x.
- ``int`` in [low, high] and ``choice`` among k values: the cube column is cut into k equal bins;
  bin i means the i-th value and its canonical point is the bin's centre (i + 0.5) / k.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from search_engine.errors import ConfigError, EncodeError
from search_engine.params import param
from search_engine.spaces.base import SearchSpace
from search_engine.types import Architecture, Array

VARIABLE_TYPES = ("int", "float", "log-float", "choice")


@dataclass(frozen=True)
class Variable:
    """One design variable. ``choices`` is set for ``choice``; ``low``/``high`` for the others."""

    name: str
    type: str
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()

    @property
    def levels(self) -> int:
        """Number of distinct values (0 for continuous variables)."""
        if self.type == "choice":
            return len(self.choices)
        if self.type == "int":
            return int(self.high - self.low) + 1
        return 0

    def value_of_index(self, index: int) -> Any:
        """The value of bin ``index`` of a discrete variable."""
        return self.choices[index] if self.type == "choice" else int(self.low) + index

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the spec format users write)."""
        if self.type == "choice":
            return {"name": self.name, "type": "choice", "choices": list(self.choices)}
        low: float = int(self.low) if self.type == "int" else self.low
        high: float = int(self.high) if self.type == "int" else self.high
        return {"name": self.name, "type": self.type, "low": low, "high": high}

    @classmethod
    def from_dict(cls, data: Any, field: str) -> Variable:
        """Parse and validate one variable; errors name ``field`` (e.g. ``space.params.variables[2]``)."""
        if not isinstance(data, Mapping):
            raise ConfigError(field, f"expected a mapping with name and type, got {data!r}")
        name, kind = data.get("name"), data.get("type")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{field}.name", "a variable needs a non-empty name")
        if kind not in VARIABLE_TYPES:
            raise ConfigError(f"{field}.type", f"{kind!r} is not one of {', '.join(VARIABLE_TYPES)}")
        if kind == "choice":
            choices = data.get("choices")
            if not isinstance(choices, list | tuple) or len(choices) < 1:
                raise ConfigError(f"{field}.choices", "a choice variable needs a non-empty list of choices")
            if len({repr(c) for c in choices}) != len(choices):
                raise ConfigError(f"{field}.choices", "choices must be distinct")
            for c in choices:
                if not isinstance(c, str | int | float) or isinstance(c, bool):
                    raise ConfigError(f"{field}.choices", f"choices must be numbers or text, got {c!r}")
            return cls(name.strip(), "choice", choices=tuple(choices))
        low, high = _bound(data, "low", field), _bound(data, "high", field)
        if not low < high and not (kind == "int" and low == high):
            raise ConfigError(f"{field}.high", f"high ({high}) must be greater than low ({low})")
        if kind == "int" and (low != int(low) or high != int(high)):
            raise ConfigError(f"{field}.low", "an int variable needs whole-number bounds")
        if kind == "log-float" and low <= 0:
            raise ConfigError(f"{field}.low", "a log-float variable needs low > 0")
        return cls(name.strip(), kind, float(low), float(high))


def _bound(data: Mapping[str, Any], key: str, field: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{field}.{key}", f"expected a finite number, got {value!r}")
    return float(value)


def _format_value(value: Any) -> str:
    """Key text of one value: numbers in a short, exact-enough form so 2 and 2.0 agree."""
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.10g}"


@dataclass(eq=False)
class GenericSpace(SearchSpace):
    """A space defined by a list of variable specs (see the module docstring for the encoding).

    ``variables`` may be given as :class:`Variable` objects or in their JSON form (dicts); it holds
    Variable objects once constructed.
    """

    variables: list[Variable] = param(
        [{"name": "x0", "type": "float", "low": 0.0, "high": 1.0}],
        "List of variables: {name, type: int | float | log-float | choice, low, high | choices}.",
    )
    _names: list[str] = field(init=False, repr=False)
    _levels: npt.NDArray[np.int64] = field(init=False, repr=False)  # (n_vars,), 0 = continuous
    _discrete: npt.NDArray[np.bool_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        where = "space.params.variables"
        if not isinstance(self.variables, list | tuple) or not self.variables:
            raise ConfigError(where, "a space needs a non-empty list of variables")
        self.variables = [
            v if isinstance(v, Variable) else Variable.from_dict(v, f"{where}[{i}]")
            for i, v in enumerate(self.variables)
        ]
        names = [v.name for v in self.variables]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ConfigError(where, f"variable name {duplicate!r} is used twice")
        self._names = names
        self._levels = np.array([v.levels for v in self.variables])
        self._discrete = self._levels > 0

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def n_architectures(self) -> float:
        if not np.all(self._discrete):
            return math.inf
        return float(np.prod(self._levels.astype(float)))

    def to_spec(self) -> dict[str, Any]:
        return {"name": "generic", "params": {"variables": [v.to_dict() for v in self.variables]}}

    def indices(self, X: Array) -> npt.NDArray[np.int64]:
        """``(n, n_vars)`` bin index of each discrete column (0 in continuous columns)."""
        levels = np.where(self._discrete, self._levels, 1)
        index: npt.NDArray[np.int64] = np.minimum(np.floor(X * levels), levels - 1).astype(np.int64)
        return index

    def _canonicalize(self, X: Array) -> Array:
        levels = np.where(self._discrete, self._levels, 1)
        centres = (self.indices(X) + 0.5) / levels
        return np.where(self._discrete, centres, X)

    def _column_values(self, X: Array) -> list[list[Any]]:
        """Decoded values column by column: ``(n_vars)`` lists of ``n`` values."""
        index = self.indices(X)
        columns: list[list[Any]] = []
        for j, var in enumerate(self.variables):
            if var.type == "float":
                columns.append((var.low + X[:, j] * (var.high - var.low)).tolist())
            elif var.type == "log-float":
                logs = math.log(var.low) + X[:, j] * (math.log(var.high) - math.log(var.low))
                columns.append(np.exp(logs).tolist())
            else:
                columns.append([var.value_of_index(int(i)) for i in index[:, j]])
        return columns

    def _decode(self, X: Array) -> list[dict[str, Any]]:
        columns = self._column_values(X)
        return [dict(zip(self._names, row, strict=True)) for row in zip(*columns, strict=True)]

    def _encode(self, architectures: list[Architecture]) -> Array:
        X = np.empty((len(architectures), self.n_vars), dtype=np.float64)
        for i, arch in enumerate(architectures):
            for j, var in enumerate(self.variables):
                if var.name not in arch:
                    message = f"architecture {i} has no value for variable {var.name!r}"
                    raise EncodeError(message, variable=var.name, row=i)
                try:
                    X[i, j] = self._encode_value(var, arch[var.name])
                except EncodeError as exc:
                    exc.row = i
                    raise
        return X

    @staticmethod
    def _encode_value(var: Variable, value: Any) -> float:
        """One value's cube coordinate, or EncodeError naming ``var`` and ``value``."""
        error = functools.partial(EncodeError, variable=var.name, value=value)
        if var.type == "choice":
            for index, choice in enumerate(var.choices):
                if choice == value or _format_value(choice) == _format_value(value):
                    return (index + 0.5) / len(var.choices)
            raise error(f"{value!r} is not a choice of {var.name!r} ({list(var.choices)})")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise error(f"{value!r} is not a number for {var.name!r}") from None
        if not var.low <= number <= var.high or not math.isfinite(number):
            raise error(f"{number} is outside [{var.low}, {var.high}] for {var.name!r}")
        if var.type == "int":
            if number != int(number):
                raise error(f"{number} is not a whole number for {var.name!r}")
            return (number - var.low + 0.5) / var.levels
        if var.type == "log-float":
            return (math.log(number) - math.log(var.low)) / (math.log(var.high) - math.log(var.low))
        return (number - var.low) / (var.high - var.low)

    def _keys(self, X: Array) -> list[str]:
        columns = [[_format_value(v) for v in column] for column in self._column_values(X)]
        return ["|".join(row) for row in zip(*columns, strict=True)]

    def _features(self, X: Array) -> Array:
        index = self.indices(X)
        out = np.empty_like(X)
        for j, (var, column) in enumerate(zip(self.variables, self._column_values(X), strict=True)):
            numeric = var.type != "choice" or all(isinstance(c, int | float) for c in var.choices)
            out[:, j] = np.asarray(column, dtype=np.float64) if numeric else index[:, j]
        return out
