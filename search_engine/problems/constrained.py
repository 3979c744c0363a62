"""Constrained benchmarks' Pareto fronts (BNH, TNK, SRN, OSY, C1-DTLZ1, C2-DTLZ2), written out.

Each problem's values come from pymoo (``catalog.py``); its constraint values ``g_i`` are feasible
where ``g_i <= 0``, pymoo's convention and form (some are scaled, e.g. BNH's by 1/25 and 1/7.7).
The fronts are the non-dominated feasible points, from the known Pareto sets:

- BNH: x2 = x1 for x1 in [0, 3], then x2 = 3 for x1 in [3, 5] (Binh and Korn, 1997);
- SRN: x1 = -2.5, x2 in [2.5, sqrt(225 - 2.5^2)] (Srinivas and Deb, 1994), continued along both
  constraint boundaries (the line's ends are not the front's);
- TNK: the non-dominated part of the curve g1 = 0 inside g2 <= 0 (f = x);
- OSY: Deb's five segments, all with x4 = x6 = 0 (Deb, *Multi-objective optimization using
  evolutionary algorithms*, 2001);
- C1-DTLZ1: DTLZ1's simplex (the linear constraint cuts the space above it, not the front);
- C2-DTLZ2: the part of DTLZ2's sphere that meets the constraint (disconnected pieces).
"""

from __future__ import annotations

import numpy as np

from search_engine.problems.dtlz import dtlz1_front, simplex_lattice
from search_engine.problems.zdt import FINE_GRID, running_best_mask, spread_over_runs
from search_engine.types import Array

SRN_X2_END = float(np.sqrt(225.0 - 2.5**2))
"""Where SRN's Pareto set x1 = -2.5 meets g1 = x1^2 + x2^2 - 225 = 0."""


def c2dtlz2_radius(n_obj: int) -> float:
    """C2-DTLZ2's radius r, as pymoo sets it: 0.2 for 2 objectives, 0.4 for 3, 0.5 beyond."""
    return 0.2 if n_obj == 2 else 0.4 if n_obj == 3 else 0.5


def c2dtlz2_constraint(F: Array) -> Array:
    """``(n,)`` C2-DTLZ2's constraint value of objective rows ``F (n, m)``: feasible where <= 0.

    Feasible near each axis' end of the sphere (within r of the unit vector e_i) or near its centre
    (within r of (1/sqrt(m), ..., 1/sqrt(m))).
    """
    n_obj = F.shape[1]
    r2 = c2dtlz2_radius(n_obj) ** 2
    squares = np.sum(F**2, axis=1, keepdims=True)  # (n, 1)
    near_axis = np.min((F - 1.0) ** 2 + squares - F**2, axis=1) - r2  # (n,)
    near_centre = np.sum((F - 1.0 / np.sqrt(n_obj)) ** 2, axis=1) - r2
    return np.asarray(np.minimum(near_axis, near_centre), dtype=np.float64)


def non_dominated_2d(F: Array, n_points: int) -> Array:
    """At most ``n_points`` of the non-dominated rows of a dense 2-objective sample, evenly in f1 order."""
    ordered = F[np.lexsort((F[:, 1], F[:, 0]))]
    index = np.flatnonzero(running_best_mask(ordered[:, 1]))  # f2 below every f2 of a smaller f1
    if index.size > n_points:
        index = index[np.unique(np.round(np.linspace(0, index.size - 1, n_points)).astype(np.int64))]
    return np.asarray(ordered[index], dtype=np.float64)


def bnh_front(n_obj: int, n_points: int) -> Array:
    """BNH: f1 = 4 x1^2 + 4 x2^2, f2 = (x1 - 5)^2 + (x2 - 5)^2 along the Pareto set."""
    x1 = np.linspace(0.0, 5.0, n_points)
    x2 = np.minimum(x1, 3.0)
    return np.column_stack([4 * x1**2 + 4 * x2**2, (x1 - 5) ** 2 + (x2 - 5) ** 2])


def srn_front(n_obj: int, n_points: int) -> Array:
    """SRN: f1 = 2 + (x1 - 2)^2 + (x2 - 1)^2, f2 = 9 x1 - (x2 - 1)^2, non-dominated over three pieces.

    Inside the feasible region the front is the line x1 = -2.5 (where the objectives' gradients
    are opposite, f1 + f2 = -0.25); it continues along the boundary g2 = 0 (x2 = (x1 + 10) / 3) down
    to the smallest f1 and along the circle g1 = 0 down to the smallest f2.
    """
    t = np.linspace(0.0, 1.0, FINE_GRID)
    line_x2 = 2.5 + (SRN_X2_END - 2.5) * t
    g2_x1 = -20.0 + 40.0 * t
    angle = 2.0 * np.pi * t
    x1 = np.concatenate([np.full_like(t, -2.5), g2_x1, 15.0 * np.cos(angle)])
    x2 = np.concatenate([line_x2, (g2_x1 + 10.0) / 3.0, 15.0 * np.sin(angle)])
    feasible = (x1**2 + x2**2 <= 225.0 + 1e-9) & (x1 - 3.0 * x2 + 10.0 <= 1e-9)
    F = np.column_stack([2 + (x1 - 2) ** 2 + (x2 - 1) ** 2, 9 * x1 - (x2 - 1) ** 2])
    return non_dominated_2d(F[feasible], n_points)


def tnk_front(n_obj: int, n_points: int) -> Array:
    """TNK: f = x on g1's curve r^2 = 1 + 0.1 cos(16 atan(x1 / x2)), where g2 <= 0 and non-dominated."""
    angle = np.linspace(1e-9, np.pi / 2.0, FINE_GRID)  # atan(x1 / x2)
    radius = np.sqrt(1.0 + 0.1 * np.cos(16.0 * angle))
    x1, x2 = radius * np.sin(angle), radius * np.cos(angle)
    inside = 2.0 * ((x1 - 0.5) ** 2 + (x2 - 0.5) ** 2) - 1.0 <= 0.0
    return non_dominated_2d(np.column_stack([x1, x2])[inside], n_points)


def osy_front(n_obj: int, n_points: int) -> Array:
    """OSY: Deb's five segments of the Pareto set (x1, x2, x3, x5; x4 = x6 = 0), filtered to the front."""
    t = np.linspace(0.0, 1.0, max(n_points, 2))
    one, five = np.ones_like(t), np.full_like(t, 5.0)
    cd_x1 = 4.056 + (5.0 - 4.056) * t
    ef_x1 = t
    segments = [
        (five, one, 1 + 4 * t, five),  # AB
        (five, one, 1 + 4 * t, one),  # BC
        (cd_x1, (cd_x1 - 2) / 3, one, one),  # CD
        (0 * t, 2 * one, 1 + (3.732 - 1) * t, one),  # DE
        (ef_x1, 2 - ef_x1, one, one),  # EF
    ]
    rows = []
    for x1, x2, x3, x5 in segments:
        f1 = -(25 * (x1 - 2) ** 2 + (x2 - 2) ** 2 + (x3 - 1) ** 2 + 16 + (x5 - 1) ** 2)  # x4 = 0: (0 - 4)^2
        f2 = x1**2 + x2**2 + x3**2 + x5**2
        rows.append(np.column_stack([f1, f2]))
    return non_dominated_2d(np.vstack(rows), n_points)


def c1dtlz1_front(n_obj: int, n_points: int) -> Array:
    """C1-DTLZ1: DTLZ1's simplex sum(f) = 0.5, all of which meets the constraint."""
    return dtlz1_front(n_obj, n_points)


def c2dtlz2_front(n_obj: int, n_points: int) -> Array:
    """C2-DTLZ2: the points of the unit sphere's positive part that meet the constraint."""
    if n_obj == 2:
        angle = np.linspace(0.0, np.pi / 2.0, FINE_GRID)
        sphere = np.column_stack([np.cos(angle), np.sin(angle)])
        index = spread_over_runs(c2dtlz2_constraint(sphere) <= 0.0, n_points)
        return np.asarray(sphere[index], dtype=np.float64)
    # A denser lattice than asked for, since the constraint keeps only part of it.
    directions = simplex_lattice(n_obj, 20 * n_points)
    sphere = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return np.asarray(sphere[c2dtlz2_constraint(sphere) <= 0.0], dtype=np.float64)


CONSTRAINED_FRONTS = {
    "bnh": bnh_front,
    "tnk": tnk_front,
    "srn": srn_front,
    "osy": osy_front,
    "c1dtlz1": c1dtlz1_front,
    "c2dtlz2": c2dtlz2_front,
}


def constrained_front(key: str, n_obj: int, n_points: int) -> Array:
    """The front of constrained problem ``key`` with ``n_obj`` objectives."""
    return CONSTRAINED_FRONTS[key](n_obj, n_points)
