"""Device budgets: upper or lower bounds on a quantity an architecture has ("params <= 2e6").

A constraint names a quantity, a bound (``upper``: at most, ``lower``: at least) and a finite value
in the quantity's own unit. A quantity is one of:

- an objective of the study (``latency``, ``accuracy``), known only after measuring;
- a stage's latency, ``latency.backbone``, ``latency.neck``, ``latency.head`` (ms), known after
  measuring, offered where stages are timed (the HyT-NAS space, evaluators measured outside);
- a metric the evaluator declares it reports (``metric_names()``), known after measuring;
- a quantity the space computes from the architecture alone (``SearchSpace.known_quantity_units``:
  for HyT-NAS ``params``, ``macs``, ``activation_memory`` and their ``.backbone`` / ``.neck`` /
  ``.head`` parts), known *before* measuring.

Bounds known before measuring are enforced, not learnt: ``KnownBounds`` tells which cube points meet
them, the initial design and every other draw sample only those (``sample_feasible``), the solver
works on the feasible region and infeasible candidates are dropped before selection, so no
architecture that breaks one is ever proposed. Every bound, measured or known, decides which
measured points count in fronts and hypervolume (``feasible_rows``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from search_engine.errors import ConfigError
from search_engine.types import STAGES, Array, EvaluationResult

if TYPE_CHECKING:
    from search_engine.config import StudyConfig
    from search_engine.spaces.base import SearchSpace

Bound = Literal["upper", "lower"]
BOUND_SYMBOLS: dict[str, str] = {"upper": "<=", "lower": ">="}
"""How each bound is written: ``params<=2e6`` is an upper bound, ``accuracy>=70`` a lower one."""

FEASIBILITY_SAMPLES = 2000
"""Architectures drawn (seeded, uniform) to tell whether known bounds can be met and how often."""

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Constraint:
    """``quantity`` at most (``upper``) or at least (``lower``) ``value``, in the quantity's unit."""

    quantity: str
    bound: Bound
    value: float

    def __str__(self) -> str:
        return f"{self.quantity} {BOUND_SYMBOLS[self.bound]} {self.value:g}"

    def violation(self, values: Array) -> Array:
        """``(n,)`` amount by which each value breaks the bound (0 where met, NaN stays NaN)."""
        values = np.asarray(values, dtype=np.float64)
        excess = values - self.value if self.bound == "upper" else self.value - values
        return np.where(np.isnan(excess), np.nan, np.maximum(excess, 0.0))

    def met(self, values: Array) -> Mask:
        """``(n,)`` True where the value meets the bound (a missing value, NaN, does not)."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = values <= self.value if self.bound == "upper" else values >= self.value
        return np.asarray(ok & np.isfinite(values), dtype=np.bool_)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"quantity": ..., "bound": "upper" | "lower", "value": ...}``."""
        return {"quantity": self.quantity, "bound": self.bound, "value": self.value}

    @classmethod
    def from_dict(cls, data: Any, field_name: str) -> Constraint:
        """Parse ``{"quantity", "bound", "value"}`` (or a ``"params<=2e6"`` string); errors name the field."""
        if isinstance(data, Constraint):
            return data
        if isinstance(data, str):
            return cls.parse(data, field_name)
        if not isinstance(data, Mapping):
            raise ConfigError(field_name, f"expected {{quantity, bound, value}}, got {data!r}")
        quantity = data.get("quantity")
        if not isinstance(quantity, str) or not quantity.strip():
            raise ConfigError(f"{field_name}.quantity", "a constraint needs the name of a quantity")
        bound = data.get("bound")
        if bound not in BOUND_SYMBOLS:
            raise ConfigError(f"{field_name}.bound", f"expected 'upper' or 'lower', got {bound!r}")
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{field_name}.value", f"expected a number, got {value!r}")
        return cls(quantity.strip(), bound, float(value))

    @classmethod
    def parse(cls, text: str, field_name: str = "constraint") -> Constraint:
        """``"params<=2e6"`` or ``"accuracy >= 70"`` -> a constraint."""
        match = re.fullmatch(r"\s*([^<>=\s]+)\s*(<=|>=)\s*(\S+)\s*", text)
        if match is None:
            raise ConfigError(field_name, f"expected QUANTITY<=VALUE or QUANTITY>=VALUE, got {text!r}")
        name, symbol, number = match.groups()
        try:
            value = float(number)
        except ValueError:
            raise ConfigError(f"{field_name}.value", f"expected a number, got {number!r}") from None
        return cls(name, "upper" if symbol == "<=" else "lower", value)


@dataclass(frozen=True)
class Quantity:
    """A quantity a study can bound: its unit, and whether it is known before measuring."""

    name: str
    unit: str
    known_before: bool
    source: str
    """``objective``, ``stage latency``, ``metric`` or ``space``."""


@dataclass(frozen=True)
class StudyQuantities:
    """What a study's constraints may name; ``any_metric``: the evaluator accepts metrics of any name."""

    quantities: dict[str, Quantity]
    any_metric: bool = False

    def find(self, name: str) -> Quantity | None:
        """The quantity of that name (an undeclared metric when any name is accepted), or None."""
        if name in self.quantities:
            return self.quantities[name]
        return Quantity(name, "", False, "metric") if self.any_metric else None

    def described(self) -> str:
        """The available names, known-before ones first, for an error message."""
        before = [n for n, q in self.quantities.items() if q.known_before]
        after = [n for n, q in self.quantities.items() if not q.known_before]
        parts = []
        if before:
            parts.append("known before measuring: " + ", ".join(before))
        if after:
            parts.append("measured: " + ", ".join(after))
        if self.any_metric:
            parts.append("or any metric the evaluation reports")
        return "; ".join(parts) or "none"


def evaluator_setting(config: StudyConfig) -> dict[str, Any]:
    """The evaluator's resolved parameters: what a space's known quantities may depend on."""
    from search_engine.registry import EVALUATORS

    return dict(EVALUATORS.resolve(config.evaluator.name, config.evaluator.params, "evaluator"))


def study_quantities(config: StudyConfig, space: SearchSpace | None = None) -> StudyQuantities:
    """Every quantity ``config``'s constraints may name."""
    from search_engine.evaluators.external import MeasuredOutside
    from search_engine.registry import EVALUATORS

    space = space if space is not None else config.build_space()
    found: dict[str, Quantity] = {}
    for name, unit in space.known_quantity_units.items():
        found[name] = Quantity(name, unit, True, "space")
    for objective in config.objectives:
        found.setdefault(objective.name, Quantity(objective.name, objective.unit, False, "objective"))
    measured_outside = issubclass(EVALUATORS.load(config.evaluator.name), MeasuredOutside)
    if config.space.name in ("hytnas", "hytnas-mobilevit") or measured_outside:
        for stage in STAGES:
            found.setdefault(f"latency.{stage}", Quantity(f"latency.{stage}", "ms", False, "stage latency"))
    any_metric = False
    evaluator = config.build_evaluator() if measured_outside else None  # cheap: nothing is fitted
    if isinstance(evaluator, MeasuredOutside):
        names = evaluator.metric_names()
        any_metric = names is None
    else:
        names = EVALUATORS.load(config.evaluator.name).reported_metrics(evaluator_setting(config))
    for name in names or ():
        found.setdefault(name, Quantity(name, "", False, "metric"))
    return StudyQuantities(found, any_metric)


def check_constraints(config: StudyConfig) -> None:
    """Raise ConfigError at ``constraints[i]...`` for a bound no study quantity, number or architecture fits.

    Checks, in order: each quantity exists (the message lists those that do); each value is finite;
    no lower bound exceeds an upper bound on the same quantity; and each known-before-measuring
    bound, and all of them together, is met by at least one of ``FEASIBILITY_SAMPLES`` sampled
    architectures (the message gives the best value seen).
    """
    if not config.constraints:
        return
    space = config.build_space()
    available = study_quantities(config, space)
    for i, constraint in enumerate(config.constraints):
        if available.find(constraint.quantity) is None:
            raise ConfigError(
                f"constraints[{i}].quantity",
                f"no objective, stage latency, metric or space quantity is named {constraint.quantity!r}; "
                f"available: {available.described()}",
            )
        if not math.isfinite(constraint.value):
            raise ConfigError(
                f"constraints[{i}].value", f"expected a finite number, got {constraint.value!r}"
            )
    _check_contradictions(config.constraints)
    bounds = known_bounds(config, space)
    if bounds is not None:
        _check_reachable(bounds, available)


def _check_contradictions(constraints: Sequence[Constraint]) -> None:
    for i, constraint in enumerate(constraints):
        for earlier in constraints[:i]:
            if earlier.quantity != constraint.quantity or earlier.bound == constraint.bound:
                continue
            lower, upper = (earlier, constraint) if earlier.bound == "lower" else (constraint, earlier)
            if lower.value > upper.value:
                raise ConfigError(
                    f"constraints[{i}].value",
                    f"{constraint} contradicts {earlier}: no value of {constraint.quantity} meets both",
                )


def _check_reachable(bounds: KnownBounds, available: StudyQuantities) -> None:
    X = bounds.space.sample_uniform(FEASIBILITY_SAMPLES, np.random.default_rng(0))
    values = bounds.values(X)
    for i, constraint in bounds.indexed:
        column = values[constraint.quantity]
        if not constraint.met(column).any():
            best = column.min() if constraint.bound == "upper" else column.max()
            quantity = available.find(constraint.quantity)
            unit = f" {quantity.unit}" if quantity is not None and quantity.unit else ""
            raise ConfigError(
                f"constraints[{i}].value",
                f"no architecture of the space meets {constraint} (estimated from {len(column)} sampled "
                f"architectures: the best {constraint.quantity} seen is {best:g}{unit})",
            )
    if not bounds.feasible_values(values).any():
        raise ConfigError(
            "constraints",
            f"each bound known before measuring is met by some architecture, but none of {X.shape[0]} "
            "sampled architectures meets all of them at once: loosen one",
        )


@dataclass(frozen=True)
class KnownBounds:
    """The constraints of a study that the space can check before measuring.

    Attributes:
        space: the study's space.
        setting: the evaluator's parameters (what the network's size depends on).
        indexed: ``(position in config.constraints, constraint)`` of each bound on a known quantity.
    """

    space: SearchSpace
    setting: Mapping[str, Any]
    indexed: tuple[tuple[int, Constraint], ...]

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """The bounds, in configuration order."""
        return tuple(c for _, c in self.indexed)

    def values(self, X: Array) -> dict[str, Array]:
        """``(n,)`` value of each known quantity for the points ``X (n, n_vars)``."""
        return self.space.known_quantities(X, self.setting)

    def feasible_values(self, values: Mapping[str, Array]) -> Mask:
        """``(n,)`` True where every bound is met by ``values`` (from ``values``)."""
        n = len(next(iter(values.values())))
        ok = np.ones(n, dtype=np.bool_)
        for constraint in self.constraints:
            ok &= constraint.met(values[constraint.quantity])
        return ok

    def feasible(self, X: Array) -> Mask:
        """``(n,)`` True where the architecture of each row of ``X`` meets every bound."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, self.space.n_vars)
        if X.shape[0] == 0:
            return np.ones(0, dtype=np.bool_)
        return self.feasible_values(self.values(X))

    def violations(self, X: Array) -> Array:
        """``(n, n_bounds)`` relative violations (``<= 0`` where met), as pymoo's constraint values ``G``.

        Each column is ``(value - bound) / |bound|`` for an upper bound (sign flipped for a lower
        one), so bounds in different units weigh alike.
        """
        values = self.values(np.asarray(X, dtype=np.float64).reshape(-1, self.space.n_vars))
        columns = []
        for constraint in self.constraints:
            excess = values[constraint.quantity] - constraint.value
            if constraint.bound == "lower":
                excess = -excess
            columns.append(excess / (abs(constraint.value) or 1.0))
        return np.array(columns, dtype=np.float64).T.reshape(-1, len(columns))


def known_bounds(config: StudyConfig, space: SearchSpace | None = None) -> KnownBounds | None:
    """The bounds ``config`` sets on quantities known before measuring, or None when there are none."""
    if not config.constraints:
        return None
    space = space if space is not None else config.build_space()
    known = space.known_quantity_units
    indexed = tuple((i, c) for i, c in enumerate(config.constraints) if c.quantity in known)
    if not indexed:
        return None
    return KnownBounds(space, evaluator_setting(config), indexed)


@dataclass(frozen=True)
class FeasibleShare:
    """How much of the space meets the known bounds, estimated by sampling.

    Attributes:
        share: fraction of ``n_sampled`` uniform architectures meeting every known bound.
        n_sampled: architectures drawn.
        per_constraint: ``(constraint, share meeting it alone)`` per known bound.
    """

    share: float
    n_sampled: int
    per_constraint: tuple[tuple[Constraint, float], ...] = field(default_factory=tuple)


def feasible_share(config: StudyConfig, n: int = FEASIBILITY_SAMPLES, seed: int = 0) -> FeasibleShare:
    """The share of the space meeting ``config``'s known bounds, from ``n`` seeded uniform draws.

    1.0 when the study has no known bound (everything is feasible before measuring).
    """
    bounds = known_bounds(config)
    if bounds is None:
        return FeasibleShare(1.0, 0)
    X = bounds.space.sample_uniform(n, np.random.default_rng(seed))
    values = bounds.values(X)
    per = tuple((c, float(np.mean(c.met(values[c.quantity])))) for c in bounds.constraints)
    return FeasibleShare(float(np.mean(bounds.feasible_values(values))), n, per)


class FeasibleDesignError(ConfigError):
    """Too few sampled architectures meet the known bounds to fill a design."""


def sample_feasible(
    bounds: KnownBounds,
    draw: Callable[[int, set[str]], Array],
    count: int,
    exclude: Iterable[str] = (),
    *,
    max_draws: int | None = None,
    required: bool = False,
) -> Array:
    """Up to ``count`` distinct points meeting every bound, by rejection from ``draw``.

    Args:
        bounds: the known bounds.
        draw: ``(n, excluded keys) -> (<= n, n_vars)`` distinct canonical points (a sampler).
        count: how many feasible points are wanted.
        exclude: keys never to return (measured, in flight).
        max_draws: the cap on points drawn (default ``max(100 * count, 20000)``).
        required: raise ``FeasibleDesignError`` (at ``constraints``) when the cap is reached with
            fewer than ``count``; otherwise return what was found. Running out of new
            architectures is never an error: the space is simply exhausted.
    """
    cap = max(100 * count, 20000) if max_draws is None else max_draws
    seen = set(exclude)
    rows: list[Array] = []
    drawn = 0
    while len(rows) < count and drawn < cap:
        share = (len(rows) + 1) / (drawn + 1)  # optimistic while little has been drawn
        want = min(cap - drawn, max(8, math.ceil((count - len(rows)) / max(share, 1e-3))))
        X = draw(want, seen)
        if X.shape[0] == 0:
            return _stack(rows, bounds.space.n_vars)  # the space holds no new architecture
        drawn += X.shape[0]
        ok = bounds.feasible(X)
        for row, key, feasible in zip(X, bounds.space.keys(X), ok, strict=True):
            seen.add(key)
            if feasible and len(rows) < count:
                rows.append(row)
    if len(rows) < count and required:
        raise FeasibleDesignError(
            "constraints",
            f"only {len(rows)} of {drawn} sampled architectures ({len(rows) / max(drawn, 1):.2%}) meet "
            f"the bounds known before measuring, fewer than the {count} needed: loosen a bound or draw "
            "a smaller initial design",
        )
    return _stack(rows, bounds.space.n_vars)


def _stack(rows: list[Array], n_vars: int) -> Array:
    return np.array(rows, dtype=np.float64).reshape(len(rows), n_vars)


def measured_values(
    config: StudyConfig, Y: Array, results: Sequence[EvaluationResult] | None = None
) -> dict[str, Array]:
    """``(n,)`` value of each quantity known after measuring: objectives from ``Y``, the rest from results.

    A quantity a result does not report is NaN for that row.
    """
    Y = np.asarray(Y, dtype=np.float64).reshape(-1, config.n_objectives)
    values = {o.name: Y[:, j] for j, o in enumerate(config.objectives)}
    for constraint in config.constraints:
        name = constraint.quantity
        if name in values or results is None:
            continue
        column = np.full(Y.shape[0], np.nan)
        for row, result in enumerate(results):
            if name.startswith("latency.") and result.stage_latency is not None:
                column[row] = result.stage_latency.get(name.removeprefix("latency."), np.nan)
            elif name in result.metrics:
                column[row] = result.metrics[name]
        values[name] = column
    return values


def feasible_rows(
    config: StudyConfig, X: Array, Y: Array, results: Sequence[EvaluationResult] | None = None
) -> Mask | None:
    """``(n,)`` True for the measured rows that meet every bound of ``config``; None without constraints.

    Known quantities come from the architectures (``X``), measured ones from ``Y`` and ``results``
    (stage latency, metrics); a row missing a bounded value is not feasible.
    """
    if not config.constraints:
        return None
    space = config.build_space()
    X = np.asarray(X, dtype=np.float64).reshape(-1, space.n_vars)
    values = measured_values(config, Y, results)
    known = space.known_quantity_units
    if X.shape[0] and any(c.quantity in known for c in config.constraints):
        values.update(space.known_quantities(X, evaluator_setting(config)))
    ok = np.ones(X.shape[0], dtype=np.bool_)
    for constraint in config.constraints:
        column = values.get(constraint.quantity)
        ok &= constraint.met(column) if column is not None else False
    return ok
