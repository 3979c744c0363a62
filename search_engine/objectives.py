"""Objectives (name, direction, unit) and the reference point for hypervolume.

The engine minimises everything. A maximised objective (accuracy) is negated on the way in
(``to_minimisation``) and back on the way out (``from_minimisation``), so measured values are
stored and shown in their own units while surrogates, solvers and hypervolume see one convention.
A reference point is written in the objectives' own units (accuracy 75 %, latency 3500 ms) and
converted the same way: (75, 3500) becomes (-75, 3500).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from search_engine.errors import ConfigError
from search_engine.types import Array

Direction = Literal["min", "max"]

REFERENCE_MARGIN = 0.1
"""Derived reference point: the worst measured value plus this fraction of the measured range."""


@dataclass(frozen=True)
class Objective:
    """One objective: ``direction`` says whether larger (``max``) or smaller (``min``) is better."""

    name: str
    direction: Direction = "min"
    unit: str = ""

    @property
    def sign(self) -> float:
        """Factor turning a value into its minimisation form."""
        return -1.0 if self.direction == "max" else 1.0

    def label(self) -> str:
        """Name with unit, for tables and axes: ``"latency (ms)"``."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def to_dict(self) -> dict[str, str]:
        """JSON-able form."""
        return {"name": self.name, "direction": self.direction, "unit": self.unit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], field: str = "objectives") -> Objective:
        """Parse and validate; errors name ``field``."""
        if not isinstance(data, Mapping):
            raise ConfigError(field, f"expected a mapping with name, direction, unit; got {data!r}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{field}.name", "an objective needs a non-empty name")
        direction = data.get("direction", "min")
        if direction not in ("min", "max"):
            raise ConfigError(f"{field}.direction", f"expected 'min' or 'max', got {direction!r}")
        unit = data.get("unit", "")
        if not isinstance(unit, str):
            raise ConfigError(f"{field}.unit", f"expected text, got {unit!r}")
        return cls(name.strip(), direction, unit)


def parse_objectives(objectives: Any, field: str, minimum: int = 1) -> tuple[Objective, ...]:
    """A list of objectives (``Objective`` objects or their JSON form), at least ``minimum``, names unique.

    The one reader of an evaluator's declared objectives, so every evaluator refuses the same
    mistakes with the same words; errors name ``field`` (``field[1].direction``).
    """
    if not isinstance(objectives, list | tuple) or len(objectives) < minimum:
        least = "a non-empty list" if minimum <= 1 else f"{minimum} or more objectives"
        raise ConfigError(field, f"expected {least}, each {{name, direction, unit}}")
    parsed = tuple(
        o if isinstance(o, Objective) else Objective.from_dict(o, f"{field}[{i}]")
        for i, o in enumerate(objectives)
    )
    names = [o.name for o in parsed]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(field, f"objective name {duplicate!r} is used twice")
    return parsed


def signs(objectives: Sequence[Objective]) -> Array:
    """``(n_objectives,)`` factors: -1 for maximised objectives, +1 for minimised ones."""
    return np.array([o.sign for o in objectives], dtype=np.float64)


def to_minimisation(Y: Array, objectives: Sequence[Objective]) -> Array:
    """Measured values in their own direction -> minimisation form (same shape)."""
    return np.asarray(Y, dtype=np.float64) * signs(objectives)


def from_minimisation(Y: Array, objectives: Sequence[Objective]) -> Array:
    """Minimisation form -> values in each objective's own direction (the sign flip is its own inverse)."""
    return np.asarray(Y, dtype=np.float64) * signs(objectives)


@dataclass(frozen=True)
class ReferencePoint:
    """The hypervolume reference point in minimisation form, and where it came from.

    ``derived`` is True when no point was given and it was computed from data by
    ``derive_reference_point``; ``rule`` says how, in words a user can read.
    """

    values: tuple[float, ...]
    derived: bool
    rule: str

    def as_array(self) -> Array:
        """``(n_objectives,)`` float array."""
        return np.array(self.values, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"values": list(self.values), "derived": self.derived, "rule": self.rule}


def given_reference_point(values: Sequence[float], objectives: Sequence[Objective]) -> ReferencePoint:
    """A user's reference point (in the objectives' own units) in minimisation form."""
    point = to_minimisation(np.asarray(values, dtype=np.float64), objectives)
    return ReferencePoint(tuple(float(v) for v in point), False, "given")


def derive_reference_point(Y: Array) -> ReferencePoint:
    """Reference point from measured data (minimisation form).

    Rule: per objective, the worst (largest) finite value plus 10 % of the range of finite values;
    when all values are equal, plus 10 % of their magnitude (or 0.1 when that is zero). Rows with
    NaN are ignored. Raises ValueError when no row is finite.
    """
    Y = np.asarray(Y, dtype=np.float64)
    finite = Y[np.all(np.isfinite(Y), axis=1)] if Y.size else Y
    if finite.shape[0] == 0:
        raise ValueError("cannot derive a reference point: no finite measurement yet")
    worst = finite.max(axis=0)
    span = worst - finite.min(axis=0)
    fallback = np.where(np.abs(worst) > 0, np.abs(worst), 1.0)
    margin = REFERENCE_MARGIN * np.where(span > 0, span, fallback)
    rule = "worst measured value + 10% of the measured range, per objective"
    return ReferencePoint(tuple(float(v) for v in worst + margin), True, rule)
