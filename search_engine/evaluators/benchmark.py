"""Benchmark evaluator: a catalogue problem (ZDT, DTLZ) scored on architectures ``{x0: v0, x1: v1, ...}``.

Its known Pareto front lets a study be judged against the truth (hypervolume gap, IGD) before the
optimizer is trusted with expensive evaluations. Optional Gaussian noise imitates noisy measurements.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from search_engine.errors import ConfigError
from search_engine.evaluators.base import Evaluator
from search_engine.objectives import Objective, derive_reference_point
from search_engine.params import Param
from search_engine.problems.catalog import (
    BENCHMARKS,
    DEFAULT_FRONT_POINTS,
    MAX_OBJECTIVES,
    BenchmarkProblem,
    true_hypervolume,
)
from search_engine.spaces.generic import GenericSpace
from search_engine.types import Architecture, Array

FIELD = "evaluator.params"


class BenchmarkEvaluator(Evaluator):
    """Scores architectures with a benchmark problem; objectives ``f1 .. fm``, all minimised, no unit.

    Noise, when ``noise_std > 0``, is a fixed function of (``seed``, architecture): re-evaluating an
    architecture (a job re-run after a crash) reproduces its measurement, while different architectures
    get independent draws.
    """

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param(
            "problem",
            "choice",
            "zdt1",
            "Benchmark problem with a known Pareto front.",
            choices=tuple(BENCHMARKS),
        ),
        Param(
            "n_var",
            "int",
            6,
            "Variables (ZDT: at least 2; DTLZ: at least the number of objectives).",
            low=2,
            high=100,
        ),
        Param(
            "n_obj",
            "int",
            2,
            "Number of objectives (ZDT: 2; DTLZ5 and DTLZ6: at most 3).",
            low=2,
            high=MAX_OBJECTIVES,
        ),
        Param(
            "noise_std",
            "float",
            0.0,
            "Std of Gaussian noise added to every objective value (0: exact).",
            low=0.0,
            high=1e6,
        ),
        Param("seed", "int", 0, "Seed of the noise.", low=0, high=2**31 - 1),
        Param(
            "delay",
            "float",
            0.0,
            "Seconds each evaluation takes: simulates an expensive measurement (demos, crash drills).",
            low=0.0,
            high=3600.0,
        ),
    )

    def __init__(
        self,
        problem: str = "zdt1",
        n_var: int = 6,
        n_obj: int = 2,
        noise_std: float = 0.0,
        seed: int = 0,
        delay: float = 0.0,
    ) -> None:
        if problem not in BENCHMARKS:
            known = ", ".join(BENCHMARKS)
            raise ConfigError(f"{FIELD}.problem", f"unknown problem {problem!r}; known: {known}")
        if not noise_std >= 0.0:
            raise ConfigError(f"{FIELD}.noise_std", f"must be zero or positive, got {noise_std}")
        try:
            self.problem: BenchmarkProblem = BENCHMARKS[problem].with_size(int(n_var), int(n_obj))
        except ConfigError as exc:
            raise ConfigError(f"{FIELD}.{exc.field}", exc.message) from None
        self.noise_std = float(noise_std)
        self.seed = int(seed)
        self.delay = float(delay)
        self._objectives = tuple(Objective(f"f{i + 1}", "min", "") for i in range(self.problem.n_obj))
        self._space = GenericSpace(
            [{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(self.problem.n_var)]
        )
        self._front: Array | None = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self._objectives

    def default_space(self) -> GenericSpace:
        """``n_var`` float variables ``x0 .. x{n-1}`` in [0, 1] (architecture value = cube coordinate)."""
        return self._space

    def default_reference_point(self) -> tuple[float, ...]:
        """The true front's worst value plus 10 % of its range, per objective (ZDT1: (1.1, 1.1)).

        The same rule ``objectives.derive_reference_point`` applies to measured data, here applied to
        the known front, so every point of the front counts towards the hypervolume.
        """
        return derive_reference_point(self.true_front()).values

    def true_front(self, n_points: int = DEFAULT_FRONT_POINTS) -> Array:
        """``(k, n_obj)`` dense sample of the problem's Pareto front (cached for the default size)."""
        if n_points != DEFAULT_FRONT_POINTS:
            return self.problem.true_front(n_points)
        if self._front is None:
            self._front = self.problem.true_front(n_points)
        return self._front

    def true_hypervolume(self, ref_point: Sequence[float] | Array) -> float:
        """Hypervolume of the dense true front w.r.t. ``ref_point`` (see ``catalog.true_hypervolume``)."""
        return true_hypervolume(self.problem, ref_point)

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        X = self._space.encode(architectures)  # (n, n_var); raises on a missing or out-of-range value
        F = self.problem.evaluate(X)  # (n, n_obj)
        if self.delay > 0.0:
            time.sleep(self.delay * len(architectures))
        if self.noise_std > 0.0:
            F = F + self.noise_std * self._noise(X)
        return [tuple(row) for row in F.tolist()]

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
            rows.append(rng.standard_normal(self.problem.n_obj))
        return np.array(rows, dtype=np.float64).reshape(X.shape[0], self.problem.n_obj)
