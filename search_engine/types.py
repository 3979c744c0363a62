"""Plain frozen records passed between the engine's parts and to its callers.

Conventions (stated once here): points live in the unit cube; ``X`` is ``(n_points, n_vars)`` and
``Y`` is ``(n_points, n_objectives)``, both float64; inside the engine every objective is minimised
(a maximised objective such as accuracy enters as ``-accuracy``, see ``objectives.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Architecture = Mapping[str, Any]

NETWORK_STAGES = ("backbone", "neck", "head")
"""The network's stages, which have parameters and multiply-adds, in execution order."""
STAGES = (*NETWORK_STAGES, "postprocess")
"""Stages whose latency an evaluator may report (``EvaluationResult.stage_latency``'s keys), in order:
the network's, then a detector's post-processing (box decoding and non-maximum suppression)."""

MetricValue = float | str
"""A metric is a number, or a word where a measurement records what made it (a runtime and its version)."""

PHASES = ("fit", "solve", "select", "evaluate")
"""Phases of an iteration whose seconds are recorded (``Proposal.timings`` and the runner's
``evaluate``), in the order they run; the initial design fits, solves and selects nothing."""


@dataclass(frozen=True)
class EvaluationResult:
    """What an evaluator measured for one architecture.

    Attributes:
        objectives: objective values in each objective's own units and direction (accuracy in
            percent, latency in ms), or ``None`` when the evaluation failed.
        stage_latency: optional per-stage latency in ms, keyed by ``STAGES``.
        metrics: optional extra measurements (parameters, MACs, ...); numbers, except the few words
            that say how a measurement was made (the runtime, its settings).
        error: why the evaluation failed, in words; ``None`` on success.
        seconds: wall time the evaluation took.
    """

    objectives: tuple[float, ...] | None
    stage_latency: Mapping[str, float] | None = None
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the evaluation produced finite objective values."""
        return self.error is None and self.objectives is not None

    @classmethod
    def failure(cls, error: str, seconds: float = 0.0) -> EvaluationResult:
        """A failed evaluation with its reason."""
        return cls(objectives=None, error=error, seconds=seconds)

    @classmethod
    def checked(
        cls,
        objectives: Any,
        n_objectives: int,
        *,
        stage_latency: Mapping[str, float] | None = None,
        metrics: Mapping[str, MetricValue] | None = None,
        seconds: float = 0.0,
    ) -> EvaluationResult:
        """A result whose objectives are validated: wrong count, NaN or inf become a failure."""
        try:
            values = tuple(float(v) for v in np.asarray(objectives, dtype=float).ravel())
        except (TypeError, ValueError) as exc:
            return cls.failure(f"objectives are not numbers: {exc}", seconds)
        if len(values) != n_objectives:
            return cls.failure(f"expected {n_objectives} objective values, got {len(values)}", seconds)
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad:
            return cls.failure(f"objective {bad[0]} is not a finite number ({values[bad[0]]})", seconds)
        return cls(values, stage_latency, dict(metrics or {}), None, seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "objectives": list(self.objectives) if self.objectives is not None else None,
            "stage_latency": dict(self.stage_latency) if self.stage_latency is not None else None,
            "metrics": dict(self.metrics),
            "error": self.error,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Proposal:
    """A batch of architectures to evaluate next, as one optimizer iteration chose them.

    Attributes:
        X: ``(batch, n_vars)`` canonical cube points, distinct and not yet measured.
        architectures: the decoded architectures, one per row of ``X``.
        keys: each architecture's stable key (see ``SearchSpace.key``).
        mean: ``(batch, n_objectives)`` surrogate predictions in minimisation form, or ``None``
            when no surrogate was fitted (too few measurements). Rank-based surrogates give scores,
            not values: check ``diagnostics["predicts_values"]`` before showing them in units.
        std: ``(batch, n_objectives)`` predictive std, or ``None`` when the surrogate has none.
        origin: per candidate, ``"solver"`` (from the solver's population) or ``"top-up"`` (a
            fresh random architecture added because the solver returned too few).
        timings: seconds per phase: ``fit``, ``solve``, ``select``, ``total``.
        diagnostics: JSON-able facts about the iteration (reference point and whether it was
            derived, candidate counts, surrogate capabilities, ...).
    """

    X: Array
    architectures: list[dict[str, Any]]
    keys: list[str]
    mean: Array | None
    std: Array | None
    origin: list[str]
    timings: dict[str, float]
    diagnostics: dict[str, Any]

    def __len__(self) -> int:
        return int(self.X.shape[0])
