"""Study configuration: which space, evaluator, objectives and components a search uses.

A ``StudyConfig`` is plain data (``to_dict`` / ``from_dict`` round-trip through JSON) and is all
the optimizer needs, with the measured data and a seed, to reproduce an iteration. ``validate``
checks every field against the registries and parameter schemas and raises ``ConfigError`` naming
the field (``surrogate.params.max_depth``, ``ref_point``, ``budget``), so a form can show the
message beside the right input. It builds no surrogate (compatibility is read from the classes'
capabilities) and remembers success, so validating the same configuration again costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from search_engine.acquisitions.base import Acquisition
from search_engine.constraints import Constraint, check_constraints
from search_engine.errors import ConfigError
from search_engine.evaluators.base import Evaluator
from search_engine.feasibility.base import FeasibilityRule
from search_engine.objectives import Objective, ReferencePoint, given_reference_point
from search_engine.pending.base import PendingStrategy
from search_engine.registry import (
    ACQUISITIONS,
    EVALUATORS,
    FEASIBILITY,
    PENDING,
    SAMPLERS,
    SELECTORS,
    SOLVERS,
    SPACES,
    SURROGATES,
    Registry,
)
from search_engine.sampling.base import Sampler
from search_engine.selection.base import Selector
from search_engine.solvers.base import Solver
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import Surrogate

COMPONENT_FIELDS: dict[str, Registry[Any]] = {
    "sampler": SAMPLERS,
    "surrogate": SURROGATES,
    "acquisition": ACQUISITIONS,
    "solver": SOLVERS,
    "selection": SELECTORS,
    "pending": PENDING,
    "feasibility": FEASIBILITY,
}
"""Optimizer components of a study, by config field, with the registry each is chosen from."""


@dataclass(frozen=True)
class ComponentSpec:
    """A component chosen by registry key, with its parameters (missing ones take defaults)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., "params": {...}}``."""
        return {"name": self.name, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Any, field_name: str) -> ComponentSpec:
        """Parse ``{"name": ..., "params": {...}}`` or a bare key string."""
        if isinstance(data, str):
            return cls(data)
        if isinstance(data, ComponentSpec):
            return data
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise ConfigError(
                f"{field_name}.name", f"expected {{'name': ..., 'params': {{...}}}}, got {data!r}"
            )
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError(f"{field_name}.params", f"expected a mapping, got {params!r}")
        return cls(data["name"], dict(params))


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a search.

    Attributes:
        space: the search space (``hytnas`` or ``generic`` with its variables).
        evaluator: how architectures are measured (``benchmark``, ``table``).
        objectives: names, directions and units, in the evaluator's result order.
        ref_point: hypervolume reference point in the objectives' own units (accuracy 75,
            latency 3500), or ``None`` to derive one from data (see ``objectives.py``).
        sampler, surrogate, acquisition, solver, selection: optimizer components.
        pending: how architectures still in flight condition a proposal (``believer``: they join
            the fit with their predicted values; ``ignore``: only their keys are excluded). Nothing
            is in flight between synchronous batches, so it matters only with ``in_flight``.
        n_init: size of the initial design.
        batch_size: architectures proposed per iteration.
        budget: total evaluations, initial design included.
        seed: the study's seed; each iteration derives its own from it.
        patience: stop when hypervolume has not improved for this many iterations (None: never).
        in_flight: None for synchronous batches (propose ``batch_size``, wait for all of them), or
            N to keep N architectures in flight: whenever a result arrives and fewer than N are
            being measured, new ones are proposed at once, conditioned on those still in flight.
        constraints: device budgets, each a bound on a quantity (see ``constraints.py``); those on
            quantities known before measuring are never violated by a proposal.
        feasibility: how bounds known only after measuring steer the batch (``probability``:
            prefer candidates predicted likely to meet them; ``ignore``).
        auto: let ``search_engine.auto`` choose the surrogate, acquisition, solver, selection and
            the batch's split at every proposal, from the space, the objectives, the data size and
            the budget; the four component fields are then not read (the sampler still draws the
            initial design, and pending and feasibility still apply).
    """

    space: ComponentSpec
    evaluator: ComponentSpec
    objectives: tuple[Objective, ...]
    ref_point: tuple[float, ...] | None = None
    sampler: ComponentSpec = ComponentSpec("uniform")
    surrogate: ComponentSpec = ComponentSpec("xgboost")
    acquisition: ComponentSpec = ComponentSpec("identity")
    solver: ComponentSpec = ComponentSpec("nsga2")
    selection: ComponentSpec = ComponentSpec("hvi")
    pending: ComponentSpec = ComponentSpec("believer")
    feasibility: ComponentSpec = ComponentSpec("probability")
    n_init: int = 100
    batch_size: int = 50
    budget: int = 1000
    seed: int = 0
    patience: int | None = None
    in_flight: int | None = None
    constraints: tuple[Constraint, ...] = ()
    auto: bool = False
    _validated: bool = field(default=False, init=False, repr=False, compare=False)
    """Set by a successful ``validate``: the instance is frozen, so success stays true."""

    @property
    def n_objectives(self) -> int:
        """Number of objectives."""
        return len(self.objectives)

    def reference_point(self) -> ReferencePoint | None:
        """The given reference point in minimisation form, or None when it is to be derived."""
        if self.ref_point is None:
            return None
        return given_reference_point(self.ref_point, self.objectives)

    def with_changes(self, **changes: Any) -> StudyConfig:
        """A copy with some fields replaced (e.g. ``batch_size=10``)."""
        return replace(self, **changes)

    def validate(self) -> StudyConfig:
        """Check every field; return self, or raise ConfigError naming the first bad field.

        Only the first call on an instance does the work; later calls return at once.
        """
        if self._validated:
            return self
        _check_int(self.n_init, "n_init", low=1)
        _check_int(self.batch_size, "batch_size", low=1)
        _check_int(self.budget, "budget", low=1)
        _check_int(self.seed, "seed", low=0)
        if self.patience is not None:
            _check_int(self.patience, "patience", low=1)
        if self.in_flight is not None:
            _check_int(self.in_flight, "in_flight", low=1)
            if self.in_flight > self.budget:
                raise ConfigError(
                    "in_flight", f"{self.in_flight} in flight is more than the budget ({self.budget})"
                )
        if not isinstance(self.auto, bool):
            raise ConfigError("auto", f"expected true or false, got {self.auto!r}")
        if self.budget < self.n_init:
            raise ConfigError(
                "budget", f"the budget ({self.budget}) is smaller than the initial design ({self.n_init})"
            )
        self._validate_objectives()
        self.build_space()  # cheap, and checks a custom space's variable list
        evaluator_params = EVALUATORS.resolve(self.evaluator.name, self.evaluator.params, "evaluator")
        required_space = EVALUATORS.load(self.evaluator.name).required_space(evaluator_params)
        if required_space is not None and required_space != self.space.name:
            raise ConfigError(
                "space",
                f"the {self.evaluator.name} evaluator builds the networks of the {required_space!r} space, "
                f"so the study searches that space, not {self.space.name!r}",
            )
        for field_name, registry in COMPONENT_FIELDS.items():
            spec: ComponentSpec = getattr(self, field_name)
            registry.resolve(spec.name, spec.params, field_name)
        self._validate_compatibility()
        check_constraints(self)
        object.__setattr__(self, "_validated", True)
        return self

    def _validate_objectives(self) -> None:
        if not self.objectives:
            raise ConfigError("objectives", "a study needs at least one objective")
        names = [o.name for o in self.objectives]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ConfigError("objectives", f"objective name {duplicate!r} is used twice")
        if self.ref_point is None:
            return
        if len(self.ref_point) != len(self.objectives):
            raise ConfigError(
                "ref_point",
                f"expected {len(self.objectives)} values (one per objective), got {len(self.ref_point)}",
            )
        for i, value in enumerate(self.ref_point):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"ref_point[{i}]", f"expected a finite number, got {value!r}")

    def _validate_compatibility(self) -> None:
        """Refuse combinations that would silently misuse a surrogate's output."""
        name = self.surrogate.name
        flags = self.surrogate_capabilities()
        provides_std, predicts_values = flags["provides_std"], flags["predicts_values"]
        acquisition = ACQUISITIONS.load(self.acquisition.name)
        selector = SELECTORS.load(self.selection.name)
        if acquisition.needs_std and not provides_std:
            raise ConfigError(
                "acquisition.name",
                f"{self.acquisition.name!r} needs a predictive std; surrogate {name!r} does not provide one",
            )
        if acquisition.needs_values and not predicts_values:
            raise ConfigError(
                "acquisition.name",
                f"{self.acquisition.name!r} compares predictions in objective units; "
                f"surrogate {name!r} predicts a ranking, not values",
            )
        if selector.needs_std and not provides_std:
            raise ConfigError(
                "selection.name",
                f"{self.selection.name!r} needs a predictive std, which surrogate {name!r} does not provide",
            )
        if selector.needs_values and not predicts_values:
            raise ConfigError(
                "selection.name",
                f"{self.selection.name!r} measures hypervolume in objective units; surrogate {name!r} "
                "predicts a ranking, not values (use 'nds' or 'ndf' selection)",
            )
        if self.in_flight is not None and not predicts_values and self._pending_uses_predictions():
            raise ConfigError(
                "pending.params.value",
                f"in-flight points cannot be believed at surrogate {name!r}'s predictions, which rank "
                "rather than measure: believe a constant ('min', 'mean', 'max') or choose 'ignore'",
            )

    def surrogate_capabilities(self) -> dict[str, Any]:
        """The configured surrogate's ``provides_std`` and ``predicts_values``, known before any fit."""
        params = SURROGATES.resolve(self.surrogate.name, self.surrogate.params, "surrogate")
        return SURROGATES.load(self.surrogate.name).capabilities_for(params)

    def _pending_uses_predictions(self) -> bool:
        """Whether the pending strategy reads the surrogate's means as objective values."""
        resolved = PENDING.resolve(self.pending.name, self.pending.params, "pending")
        return bool(PENDING.load(self.pending.name).capabilities_for(resolved)["uses_predictions"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; ``from_dict(to_dict())`` gives an equal config."""
        out: dict[str, Any] = {
            "space": self.space.to_dict(),
            "evaluator": self.evaluator.to_dict(),
            "objectives": [o.to_dict() for o in self.objectives],
            "ref_point": list(self.ref_point) if self.ref_point is not None else None,
        }
        out.update({name: getattr(self, name).to_dict() for name in COMPONENT_FIELDS})
        out.update(
            n_init=self.n_init,
            batch_size=self.batch_size,
            budget=self.budget,
            seed=self.seed,
            patience=self.patience,
            in_flight=self.in_flight,
            constraints=[c.to_dict() for c in self.constraints],
            auto=self.auto,
        )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyConfig:
        """Parse a dict (e.g. from JSON). Structure errors name the field; call ``validate`` for the rest."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", f"expected a mapping, got {data!r}")
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], "unknown configuration field")
        for required in ("space", "evaluator", "objectives"):
            if required not in data:
                raise ConfigError(required, "this field is required")
        objectives = data["objectives"]
        if not isinstance(objectives, list | tuple):
            raise ConfigError("objectives", f"expected a list, got {objectives!r}")
        ref = data.get("ref_point")
        if ref is not None and not isinstance(ref, list | tuple):
            raise ConfigError("ref_point", f"expected a list of numbers, got {ref!r}")
        kwargs: dict[str, Any] = {
            "space": ComponentSpec.from_dict(data["space"], "space"),
            "evaluator": ComponentSpec.from_dict(data["evaluator"], "evaluator"),
            "objectives": tuple(
                o if isinstance(o, Objective) else Objective.from_dict(o, f"objectives[{i}]")
                for i, o in enumerate(objectives)
            ),
            "ref_point": tuple(ref) if ref is not None else None,
        }
        for name in COMPONENT_FIELDS:
            if name in data:
                kwargs[name] = ComponentSpec.from_dict(data[name], name)
        for name in ("n_init", "batch_size", "budget", "seed", "patience", "in_flight", "auto"):
            if name in data:
                kwargs[name] = data[name]
        constraints = data.get("constraints") or ()
        if not isinstance(constraints, list | tuple):
            raise ConfigError("constraints", f"expected a list of bounds, got {constraints!r}")
        kwargs["constraints"] = tuple(
            Constraint.from_dict(c, f"constraints[{i}]") for i, c in enumerate(constraints)
        )
        return cls(**kwargs)

    @classmethod
    def from_validated_dict(cls, data: Mapping[str, Any]) -> StudyConfig:
        """Parse a dict that ``validate`` accepted before it was stored, and trust it.

        A study's configuration is checked once, when it is saved; an iteration job that reads it
        back must not pay for the check again on every proposal (``propose`` and ``Optimizer``
        call ``validate``, which returns at once for a config made here).
        """
        config = cls.from_dict(data)
        object.__setattr__(config, "_validated", True)
        return config

    def build_space(self) -> SearchSpace:
        """The search space object."""
        return SPACES.build(self.space.name, self.space.params, "space")

    def build_evaluator(self) -> Evaluator:
        """The evaluator object (may be expensive: a table evaluator fits its predictors)."""
        return EVALUATORS.build(self.evaluator.name, self.evaluator.params, "evaluator")

    def build_sampler(self) -> Sampler:
        """The initial sampler."""
        return SAMPLERS.build(self.sampler.name, self.sampler.params, "sampler")

    def build_surrogate(self) -> Surrogate:
        """A new, unfitted surrogate."""
        return SURROGATES.build(self.surrogate.name, self.surrogate.params, "surrogate")

    def build_acquisition(self) -> Acquisition:
        """The acquisition function."""
        return ACQUISITIONS.build(self.acquisition.name, self.acquisition.params, "acquisition")

    def build_solver(self) -> Solver:
        """The multi-objective solver of the surrogate problem."""
        return SOLVERS.build(self.solver.name, self.solver.params, "solver")

    def build_selector(self) -> Selector:
        """The batch selector."""
        return SELECTORS.build(self.selection.name, self.selection.params, "selection")

    def build_feasibility(self) -> FeasibilityRule:
        """How bounds known only after measuring steer the batch."""
        return FEASIBILITY.build(self.feasibility.name, self.feasibility.params, "feasibility")

    def build_pending(self) -> PendingStrategy:
        """How points still in flight condition a proposal."""
        return PENDING.build(self.pending.name, self.pending.params, "pending")


def _check_int(value: Any, field_name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field_name, f"expected a whole number, got {value!r}")
    if value < low:
        raise ConfigError(field_name, f"{value} is below the minimum {low}")
