"""The benchmark catalogue: problem key -> :class:`BenchmarkProblem` (function values and true front).

Function values come from pymoo's implementations (imported on first evaluation); the true fronts are
written out in ``zdt.py``, ``dtlz.py`` and ``constrained.py`` and checked against pymoo's in the tests.
Every problem lives on [0, 1]^n_var (a problem defined on other bounds, such as BNH's [0, 5] x [0, 3],
maps the cube onto them linearly) and minimises all of its objectives. Constrained problems (BNH, TNK,
SRN, OSY, C1-DTLZ1, C2-DTLZ2) also report constraint values ``g1 .. gk``, feasible where ``<= 0``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from search_engine.errors import ConfigError
from search_engine.problems.constrained import constrained_front
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
        front: ``(n_obj, n_points) -> (k, n_obj)`` dense sample of the (feasible) Pareto front.
        constraint_names: the constraint values the problem reports, in pymoo's order and form,
            each feasible where ``<= 0`` (empty for an unconstrained problem).
        domain: ``(lower, upper)`` bounds per variable that the unit cube maps onto (None: the cube).
        fixed_n_var: the problem is defined for ``n_var`` variables only (BNH, TNK, SRN, OSY).
    """

    key: str
    label: str
    n_var: int
    n_obj: int
    max_n_obj: int
    front: Callable[[int, int], Array] = field(repr=False, compare=False)
    constraint_names: tuple[str, ...] = ()
    domain: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    fixed_n_var: bool = False

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
        if self.fixed_n_var and n_var != self.n_var:
            raise ConfigError("n_var", f"{self.label} has exactly {self.n_var} variables, not {n_var}")
        # ZDT's g averages x_2 .. x_n; DTLZ needs k = n_var - n_obj + 1 >= 1 distance variables.
        minimum = max(2, n_obj)
        if n_var < minimum:
            message = f"{self.label} with {n_obj} objectives needs at least {minimum} variables, not {n_var}"
            raise ConfigError("n_var", message)
        return replace(self, n_var=n_var, n_obj=n_obj)

    def evaluate(self, X: Array) -> Array:
        """Objective values ``(n, n_obj)`` of points ``X`` ``(n, n_var)`` in [0, 1]^n_var."""
        return self.evaluate_with_constraints(X)[0]

    def evaluate_with_constraints(self, X: Array) -> tuple[Array, Array]:
        """``(F (n, n_obj), G (n, n_constraints))`` of points ``X (n, n_var)`` in [0, 1]^n_var.

        ``G`` holds the constraint values in ``constraint_names`` order (feasible where ``<= 0``);
        it has no column for an unconstrained problem.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_var:
            raise ValueError(f"expected points of shape (n, {self.n_var}), got {X.shape}")
        if not np.all(np.isfinite(X)) or X.min(initial=0.0) < 0.0 or X.max(initial=0.0) > 1.0:
            raise ValueError("points must be finite and lie in [0, 1]")
        n, k = X.shape[0], len(self.constraint_names)
        if n == 0:
            return np.empty((0, self.n_obj)), np.empty((0, k))
        problem = _pymoo_problem(self.key, self.n_var, self.n_obj, self.fixed_n_var)
        if not k:
            F = problem.evaluate(self.in_domain(X), return_values_of=["F"])
            return np.asarray(F, dtype=np.float64).reshape(n, self.n_obj), np.empty((n, 0))
        F, G = problem.evaluate(self.in_domain(X), return_values_of=["F", "G"])
        return (
            np.asarray(F, dtype=np.float64).reshape(n, self.n_obj),
            np.asarray(G, dtype=np.float64).reshape(n, k),
        )

    def in_domain(self, X: Array) -> Array:
        """``(n, n_var)`` the problem's own variables of cube points ``X`` (``X`` without a domain)."""
        if self.domain is None:
            return np.asarray(X, dtype=np.float64)
        lower, upper = (np.asarray(bound, dtype=np.float64) for bound in self.domain)
        return np.asarray(lower + np.asarray(X, dtype=np.float64) * (upper - lower), dtype=np.float64)

    def true_front(self, n_points: int = DEFAULT_FRONT_POINTS) -> Array:
        """``(k, n_obj)`` points on the Pareto front, k about ``n_points`` (exact k depends on the shape)."""
        return self.front(self.n_obj, n_points)


@functools.lru_cache(maxsize=32)
def _pymoo_problem(key: str, n_var: int, n_obj: int, fixed_n_var: bool = False) -> Any:
    from pymoo.problems import get_problem

    if fixed_n_var:
        return get_problem(key)
    if key.startswith("zdt"):
        return get_problem(key, n_var=n_var)
    return get_problem(key, n_var=n_var, n_obj=n_obj)


def _zdt(key: str, label: str) -> BenchmarkProblem:
    return BenchmarkProblem(key, label, 30, 2, 2, functools.partial(zdt_front, key))


def _dtlz(key: str, label: str, k: int, max_n_obj: int = MAX_OBJECTIVES) -> BenchmarkProblem:
    # Deb et al.'s customary sizes: n_var = n_obj + k - 1 with k = 5 (DTLZ1), 10 (DTLZ2-6), 20 (DTLZ7).
    return BenchmarkProblem(key, label, 2 + k - 1, 2, max_n_obj, functools.partial(dtlz_front, key))


def _fixed(
    key: str, label: str, lower: tuple[float, ...], upper: tuple[float, ...], n_constraints: int
) -> BenchmarkProblem:
    """A two-objective constrained problem of ``len(lower)`` variables on [lower, upper] (pymoo's bounds)."""
    names = tuple(f"g{i + 1}" for i in range(n_constraints))
    front = functools.partial(constrained_front, key)
    return BenchmarkProblem(key, label, len(lower), 2, 2, front, names, (lower, upper), fixed_n_var=True)


def _constrained_dtlz(key: str, label: str, k: int) -> BenchmarkProblem:
    front = functools.partial(constrained_front, key)
    return BenchmarkProblem(key, label, 2 + k - 1, 2, MAX_OBJECTIVES, front, ("g1",))


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
        _fixed("bnh", "BNH (Binh-Korn, 2 constraints)", (0.0, 0.0), (5.0, 3.0), 2),
        _fixed("tnk", "TNK (Tanaka, 2 constraints, wavy front)", (0.0, 1e-30), (np.pi, np.pi), 2),
        _fixed("srn", "SRN (Srinivas-Deb, 2 constraints)", (-20.0, -20.0), (20.0, 20.0), 2),
        _fixed(
            "osy",
            "OSY (Osyczka-Kundu, 6 constraints)",
            (0.0, 0.0, 1.0, 0.0, 1.0, 0.0),
            (10.0, 10.0, 5.0, 6.0, 5.0, 10.0),
            6,
        ),
        _constrained_dtlz("c1dtlz1", "C1-DTLZ1 (DTLZ1 with a linear constraint)", 5),
        _constrained_dtlz("c2dtlz2", "C2-DTLZ2 (DTLZ2, feasible only in patches of the front)", 10),
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
