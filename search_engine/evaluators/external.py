"""External evaluator: the user's own evaluation (their pipeline, their device), made outside the studio.

The studio decides *what* to measure; the user's code measures it. A study with this evaluator keeps
its proposed architectures in the database as pending evaluations, and the user's code claims them
over the worker API with a token (``search_engine.client``: ``ask``/``tell`` or ``optimize(fn)``),
measures each in any way it likes and tells back the objectives the study declares (two or more,
named, with direction and unit), optional stage latency and the extra metrics named here.

Works with any space (``hytnas`` and custom ``generic`` spaces): a claim carries each architecture
decoded (the dict of its variables) and as its point of the unit cube. The command worker
(``python -m search_engine.worker --command ...``) runs the user's command for each architecture and
stops it once it runs past ``time_limit_seconds``.

:class:`MeasuredOutside` is what every evaluator measured by workers declares (this one and
``remote``): the spec a worker receives with each claim.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from search_engine.errors import ConfigError
from search_engine.evaluators.base import Evaluator
from search_engine.evaluators.table import HYTNAS_OBJECTIVES
from search_engine.objectives import Objective, parse_objectives
from search_engine.params import param
from search_engine.types import Architecture, EvaluationResult

FIELD = "evaluator.params"

MIN_OBJECTIVES = 2
"""A multi-objective study: fewer objectives need no Pareto front."""


class MeasuredOutside(ABC):
    """An evaluator whose work is claimed and measured by workers over the worker API."""

    @abstractmethod
    def worker_spec(self) -> dict[str, Any]:
        """``{"name", "params"}``: what a worker needs with each claim to measure it."""

    @abstractmethod
    def metric_names(self) -> tuple[str, ...] | None:
        """The only metric names a report may carry; None: any name."""


@dataclass(eq=False)
class ExternalEvaluator(Evaluator, MeasuredOutside):
    """The user's own evaluation: declared objectives and metrics, measured by the user's code.

    ``objectives`` may be given as :class:`Objective` objects or in their JSON form; it holds
    Objectives once constructed.
    """

    DISPATCH: ClassVar[str] = "remote"

    objectives: tuple[Objective, ...] = param(
        HYTNAS_OBJECTIVES,
        f"Objectives your evaluation reports ({MIN_OBJECTIVES} or more): "
        "a list of {name, direction: min | max, unit}.",
    )
    metrics: list[str] | None = param(
        None,
        'Names of extra metrics recorded with each result, such as ["params", "energy_mj"]; '
        "a result may carry no other (blank: none).",
    )
    time_limit_seconds: float | None = param(
        None,
        "Seconds the command worker lets your command run per architecture before stopping it and "
        "recording a failure (blank: no limit; the worker's --time-limit overrides it).",
        low=1.0,
        high=7 * 86400.0,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.objectives = parse_objectives(self.objectives, f"{FIELD}.objectives", minimum=MIN_OBJECTIVES)
        self.metrics = _parse_metrics(self.metrics if self.metrics is not None else [])

    def worker_spec(self) -> dict[str, Any]:
        """The time limit a command worker enforces; the objectives and metrics travel with every claim."""
        return {"name": "external", "params": {"time_limit_seconds": self.time_limit_seconds}}

    def metric_names(self) -> tuple[str, ...]:
        """The declared metrics: a report naming any other is refused."""
        return tuple(self.metrics or ())

    def _evaluate_one(self, architecture: Architecture) -> EvaluationResult:
        return EvaluationResult.failure(
            "the external evaluator is measured by your own code: connect it with "
            "search_engine.client (ask/tell, or optimize(fn)) or run "
            "`python -m search_engine.worker --command CMD`"
        )


def _parse_metrics(metrics: Any) -> list[str]:
    field = f"{FIELD}.metrics"
    if not isinstance(metrics, list | tuple):
        raise ConfigError(field, f"expected a list of names, got {metrics!r}")
    for i, name in enumerate(metrics):
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ConfigError(f"{field}[{i}]", f"a metric name is 1 to 100 characters, got {name!r}")
    duplicate = next((n for n in metrics if metrics.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(field, f"metric name {duplicate!r} is used twice")
    return [str(name) for name in metrics]
