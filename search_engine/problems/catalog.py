"""The benchmark catalogue: problem key -> :class:`BenchmarkProblem` (function values and true front).

Function values come from pymoo's implementations (imported on first evaluation); the true fronts are
written out in ``zdt.py`` and ``dtlz.py`` and checked against pymoo's in the tests. Every problem lives
on [0, 1]^n_var and minimises all of its objectives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from search_engine.errors import ConfigError
from search_engine.problems.dtlz import dtlz_front
from search_engine.problems.zdt import zdt_front
from search_engine.types import Array

DEFAULT_FRONT_POINTS = 5000
"""Points of a true front: dense enough that its hypervolume is within about 1e-3 of the exact value
for 2 objectives (it is a lower bound that grows with the number of points)."""

MAX_OBJECTIVES = 5


@dataclass(frozen=True)
class BenchmarkProblem:
    """One benchmark problem at a given size.

    Attributes:
        key: catalogue key, also pymoo's name for the problem (``"zdt1"``, ``"dtlz2"``).
        label: name a user reads.
        n_var: number of variables (ZDT: at least 2; DTLZ: at least ``n_obj``).
        n_obj: number of objectives (ZDT: 2; DTLZ: 2 to ``max_n_obj``).
        max_n_obj: the most objectives the problem (and its known front) supports.
        front: ``(n_obj, n_points) -> (k, n_obj)`` dense sample of the Pareto front.
    """

    key: str
    label: str
    n_var: int
    n_obj: int
    max_n_obj: int
    front: Callable[[int, int], Array] = field(repr=False, compare=False)

    def with_size(self, n_var: int, n_obj: int) -> BenchmarkProblem:
        """The same problem with ``n_var`` variables and ``n_obj`` objectives.

        Raises:
            ConfigError: the size is not allowed; ``field`` is ``"n_var"`` or ``"n_obj"``.
        """
        if not 2 <= n_obj <= self.max_n_obj:
            allowed = "exactly 2" if self.max_n_obj == 2 else f"2 to {self.max_n_obj}"
            reason = (
                " (with 4 or more the degenerate curve is not the whole Pareto front)"
                if self.key in ("dtlz5", "dtlz6")
                else ""
            )
            raise ConfigError("n_obj", f"{self.label} takes {allowed} objectives, not {n_obj}{reason}")
        # ZDT's g averages x_2 .. x_n; DTLZ needs k = n_var - n_obj + 1 >= 1 distance variables.
        minimum = max(2, n_obj)
        if n_var < minimum:
            message = f"{self.label} with {n_obj} objectives needs at least {minimum} variables, not {n_var}"
            raise ConfigError("n_var", message)
        return replace(self, n_var=n_var, n_obj=n_obj)

    def evaluate(self, X: Array) -> Array:
        """Objective values ``(n, n_obj)`` of points ``X`` ``(n, n_var)`` in [0, 1]^n_var."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_var:
            raise ValueError(f"expected points of shape (n, {self.n_var}), got {X.shape}")
        if not np.all(np.isfinite(X)) or X.min(initial=0.0) < 0.0 or X.max(initial=0.0) > 1.0:
            raise ValueError("points must be finite and lie in [0, 1]")
        if X.shape[0] == 0:
            return np.empty((0, self.n_obj))
        problem = _pymoo_problem(self.key, self.n_var, self.n_obj)
        F = problem.evaluate(X, return_values_of=["F"])
        return np.asarray(F, dtype=np.float64).reshape(X.shape[0], self.n_obj)

    def true_front(self, n_points: int = DEFAULT_FRONT_POINTS) -> Array:
        """``(k, n_obj)`` points on the Pareto front, k about ``n_points`` (exact k depends on the shape)."""
        return self.front(self.n_obj, n_points)


@functools.lru_cache(maxsize=32)
def _pymoo_problem(key: str, n_var: int, n_obj: int) -> Any:
    from pymoo.problems import get_problem

    if key.startswith("zdt"):
        return get_problem(key, n_var=n_var)
    return get_problem(key, n_var=n_var, n_obj=n_obj)


def _zdt(key: str, label: str) -> BenchmarkProblem:
    return BenchmarkProblem(key, label, 30, 2, 2, functools.partial(zdt_front, key))


def _dtlz(key: str, label: str, k: int, max_n_obj: int = MAX_OBJECTIVES) -> BenchmarkProblem:
    # Deb et al.'s customary sizes: n_var = n_obj + k - 1 with k = 5 (DTLZ1), 10 (DTLZ2-6), 20 (DTLZ7).
    return BenchmarkProblem(key, label, 2 + k - 1, 2, max_n_obj, functools.partial(dtlz_front, key))


BENCHMARKS: dict[str, BenchmarkProblem] = {
    problem.key: problem
    for problem in (
        _zdt("zdt1", "ZDT1 (convex front)"),
        _zdt("zdt2", "ZDT2 (concave front)"),
        _zdt("zdt3", "ZDT3 (disconnected front)"),
        _dtlz("dtlz1", "DTLZ1 (linear front, multimodal)", 5),
        _dtlz("dtlz2", "DTLZ2 (spherical front)", 10),
        _dtlz("dtlz3", "DTLZ3 (spherical front, multimodal)", 10),
        _dtlz("dtlz4", "DTLZ4 (spherical front, biased density)", 10),
        _dtlz("dtlz5", "DTLZ5 (degenerate curve)", 10, max_n_obj=3),
        _dtlz("dtlz6", "DTLZ6 (degenerate curve, harder)", 10, max_n_obj=3),
        _dtlz("dtlz7", "DTLZ7 (disconnected front)", 20),
    )
}


def true_hypervolume(
    problem: BenchmarkProblem, ref_point: Sequence[float] | Array, n_points: int = DEFAULT_FRONT_POINTS
) -> float:
    """Hypervolume of ``problem``'s dense true front w.r.t. ``ref_point`` (minimisation form).

    This is the exact hypervolume of the sampled front, a lower bound of the continuous front's that
    approaches it as ``n_points`` grows (ZDT1, ref (1.1, 1.1): 0.87657 with 5000 points vs. 1.21 - 1/3).
    Front points that do not strictly dominate the reference point contribute nothing.
    """
    import moocore

    ref = np.asarray(ref_point, dtype=np.float64).ravel()
    if ref.shape != (problem.n_obj,):
        raise ValueError(f"reference point needs {problem.n_obj} values, got {ref.size}")
    return float(moocore.hypervolume(problem.true_front(n_points), ref=ref))
