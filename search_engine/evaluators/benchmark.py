"""Benchmark evaluator: a catalogue problem (ZDT, DTLZ, BNH, ...) scored on architectures ``{x0: v0, ...}``.

Its known Pareto front lets a study be judged against the truth (hypervolume gap, IGD) before the
optimizer is trusted with expensive evaluations. Optional Gaussian noise imitates noisy measurements.
A constrained problem reports its constraint values as metrics ``g1 .. gk`` (feasible where ``<= 0``),
which a study bounds like any measured quantity (``g1<=0``): they are known only after measuring.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.errors import ConfigError
from search_engine.evaluators.base import Evaluator
from search_engine.objectives import Objective, derive_reference_point
from search_engine.params import param
from search_engine.problems.catalog import (
    BENCHMARKS,
    DEFAULT_FRONT_POINTS,
    MAX_OBJECTIVES,
    BenchmarkProblem,
    true_hypervolume,
)
from search_engine.spaces.generic import GenericSpace, Variable
from search_engine.types import Architecture, Array, EvaluationResult


@dataclass(eq=False)
class BenchmarkEvaluator(Evaluator):
    """Scores architectures with a benchmark problem; objectives ``f1 .. fm``, all minimised, no unit.

    Noise, when ``noise_std > 0``, is a fixed function of (``seed``, architecture): re-evaluating an
    architecture (a job re-run after a crash) reproduces its measurement, while different architectures
    get independent draws.
    """

    problem: str = param("zdt1", "Benchmark problem with a known Pareto front.", choices=tuple(BENCHMARKS))
    n_var: int = param(
        6, "Variables (ZDT: at least 2; DTLZ: at least the number of objectives).", low=2, high=100
    )
    n_obj: int = param(
        2, "Number of objectives (ZDT: 2; DTLZ5 and DTLZ6: at most 3).", low=2, high=MAX_OBJECTIVES
    )
    noise_std: float = param(
        0.0, "Std of Gaussian noise added to every objective value (0: exact).", low=0.0, high=1e6
    )
    seed: int = param(0, "Seed of the noise.", low=0, high=2**31 - 1)
    delay: float = param(
        0.0,
        "Seconds each evaluation takes: simulates an expensive measurement (demos, crash drills).",
        low=0.0,
        high=3600.0,
    )
    benchmark: BenchmarkProblem = field(init=False, repr=False)
    """The catalogue problem at this size."""
    objectives: tuple[Objective, ...] = field(init=False, repr=False)
    _space: GenericSpace = field(init=False, repr=False)
    _front: Array | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.benchmark = _sized(self.problem, self.n_var, self.n_obj, f"{self.KIND}.params")
        self.objectives = tuple(Objective(f"f{i + 1}", "min", "") for i in range(self.benchmark.n_obj))
        self._space = GenericSpace(
            [Variable(f"x{i}", "float", 0.0, 1.0) for i in range(self.benchmark.n_var)]
        )

    @classmethod
    def check_params(cls, values: Mapping[str, Any], field: str) -> None:
        _sized(values["problem"], values["n_var"], values["n_obj"], field)

    @classmethod
    def exact(cls, params: Mapping[str, Any]) -> bool:
        """A formula: exact unless noise is added (``noise_std > 0``)."""
        return float(params.get("noise_std", 0.0)) == 0.0

    @classmethod
    def reported_metrics(cls, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The problem's constraint values ``g1 .. gk`` (none for ZDT and DTLZ)."""
        problem = BENCHMARKS.get(str(params.get("problem", "")))
        return problem.constraint_names if problem is not None else ()

    def default_space(self) -> GenericSpace:
        """``n_var`` float variables ``x0 .. x{n-1}`` in [0, 1] (architecture value = cube coordinate)."""
        return self._space

    def default_reference_point(self) -> tuple[float, ...]:
        """The true front's worst value plus 10 % of its range, per objective (ZDT1: (1.1, 1.1)).

        The same rule ``objectives.derive_reference_point`` applies to measured data, here applied to
        the known front, so every point of the front counts towards the hypervolume.
        """
        return derive_reference_point(self.true_front()).values

    @property
    def evaluates_batches(self) -> bool:
        """Not with a ``delay``: a simulated expensive measurement is taken, and saved, one at a time."""
        return self.delay == 0.0

    def true_front(self, n_points: int = DEFAULT_FRONT_POINTS) -> Array:
        """``(k, n_obj)`` dense sample of the problem's Pareto front (cached for the default size)."""
        if n_points != DEFAULT_FRONT_POINTS:
            return self.benchmark.true_front(n_points)
        if self._front is None:
            self._front = self.benchmark.true_front(n_points)
        return self._front

    def true_hypervolume(self, ref_point: Sequence[float] | Array) -> float:
        """Hypervolume of the dense true front w.r.t. ``ref_point`` (see ``catalog.true_hypervolume``)."""
        return true_hypervolume(self.benchmark, ref_point)

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        X = self._space.encode(architectures)  # (n, n_var); raises on a missing or out-of-range value
        F, G = self.benchmark.evaluate_with_constraints(X)  # (n, n_obj), (n, n_constraints)
        if self.delay > 0.0:
            time.sleep(self.delay * len(architectures))
        if self.noise_std > 0.0:
            F = F + self.noise_std * self._noise(X)
        if not self.benchmark.constraint_names:
            return [tuple(row) for row in F.tolist()]
        names = self.benchmark.constraint_names
        return [
            EvaluationResult(tuple(f), metrics=dict(zip(names, g, strict=True)))
            for f, g in zip(F.tolist(), G.tolist(), strict=True)
        ]

    def _evaluate_one(self, architecture: Architecture) -> Any:
        values = self._evaluate_batch([architecture])
        assert values is not None
        return values[0]

    def _noise(self, X: Array) -> Array:
        """``(n, n_obj)`` standard normal draws, each row seeded by (seed, the row's exact values)."""
        rows = []
        for x in np.ascontiguousarray(X, dtype=np.float64):
            digest = hashlib.sha256(x.tobytes()).digest()[:16]
            rng = np.random.default_rng([self.seed, int.from_bytes(digest, "little")])
            rows.append(rng.standard_normal(self.benchmark.n_obj))
        return np.array(rows, dtype=np.float64).reshape(X.shape[0], self.benchmark.n_obj)


def _sized(problem: str, n_var: int, n_obj: int, field: str) -> BenchmarkProblem:
    """The catalogue's ``problem`` with ``n_var`` variables and ``n_obj`` objectives, or ConfigError."""
    try:
        return BENCHMARKS[problem].with_size(n_var, n_obj)
    except ConfigError as exc:
        raise ConfigError(f"{field}.{exc.field}", exc.message) from None
