"""DTLZ1-7 Pareto fronts for 2 to 5 objectives, written out analytically.

On the front the distance function g reaches its minimum (g = 0, or g = 1 for DTLZ7), which leaves:

- DTLZ1: the linear simplex sum(f) = 0.5, f >= 0;
- DTLZ2, DTLZ3, DTLZ4: the unit sphere's positive part, sum(f^2) = 1;
- DTLZ5, DTLZ6: a degenerate curve on that sphere, (cos t, sin t) rotated so that the angles after the
  first equal pi/4. For 4 or more objectives points with g > 0 are also non-dominated (Ishibuchi et
  al., 2016), so the curve is not the whole front; the catalogue allows these two up to 3 objectives;
- DTLZ7: f_m = 2 (m - sum_i f_i / 2 (1 + sin(3 pi f_i))) over f_1 .. f_{m-1} in [0, 1], whose non-dominated
  part is disconnected (2^(m-1) pieces).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from search_engine.problems.zdt import FINE_GRID, running_best_mask, spread_over_runs
from search_engine.types import Array

DTLZ_KEYS = tuple(f"dtlz{i}" for i in range(1, 8))


def simplex_lattice(n_obj: int, n_points: int) -> Array:
    """Das-Dennis points: every w >= 0 with sum(w) = 1 and w a multiple of 1/p.

    ``p`` is the largest number of divisions whose C(p + m - 1, m - 1) points fit in ``n_points``
    (at least 1), so the result has at most ``n_points`` rows (more only when even p = 1 does not fit).
    """
    divisions = 1
    while math.comb(divisions + 1 + n_obj - 1, n_obj - 1) <= n_points:
        divisions += 1
    # Stars and bars: choosing n_obj - 1 bar positions among divisions + n_obj - 1 slots.
    bars = np.array(list(itertools.combinations(range(divisions + n_obj - 1), n_obj - 1)), dtype=np.int64)
    counts = np.column_stack(
        [bars[:, 0], np.diff(bars, axis=1) - 1, divisions + n_obj - 2 - bars[:, -1]]
    )  # (n_points, n_obj) stars between consecutive bars
    return np.asarray(counts, dtype=np.float64) / divisions


def dtlz1_front(n_obj: int, n_points: int) -> Array:
    """The simplex sum(f) = 0.5: evenly spaced for 2 objectives, a Das-Dennis lattice beyond."""
    if n_obj == 2:
        f1 = np.linspace(0.0, 0.5, n_points)
        return np.column_stack([f1, 0.5 - f1])
    return 0.5 * simplex_lattice(n_obj, n_points)


def sphere_front(n_obj: int, n_points: int) -> Array:
    """The unit sphere's positive part (DTLZ2-4).

    Evenly spaced angles for 2 objectives; Das-Dennis directions projected onto the sphere beyond.
    """
    if n_obj == 2:
        angle = np.linspace(0.0, np.pi / 2.0, n_points)
        return np.column_stack([np.cos(angle), np.sin(angle)])
    directions = simplex_lattice(n_obj, n_points)
    norms = np.linalg.norm(directions, axis=1, keepdims=True)  # (k, 1)
    return np.asarray(directions / norms, dtype=np.float64)


def degenerate_front(n_obj: int, n_points: int) -> Array:
    """DTLZ5-6's curve: first angle t in [0, pi/2], the others pi/4 (a quarter circle for 2 objectives).

    With angles theta_1 .. theta_{m-1}: f_1 = prod cos(theta_j), f_i = prod_{j <= m-i} cos(theta_j)
    sin(theta_{m-i+1}), f_m = sin(theta_1), the same product form as the problems themselves.
    """
    theta = np.full((n_points, n_obj - 1), np.pi / 4.0)  # (n_points, n_obj - 1)
    theta[:, 0] = np.linspace(0.0, np.pi / 2.0, n_points)
    cos, sin = np.cos(theta), np.sin(theta)
    front = np.empty((n_points, n_obj))
    for i in range(n_obj):
        front[:, i] = np.prod(cos[:, : n_obj - 1 - i], axis=1)
        if i > 0:
            front[:, i] *= sin[:, n_obj - 1 - i]
    return front


def dtlz7_front(n_obj: int, n_points: int) -> Array:
    """About ``n_points`` points on DTLZ7's disconnected front.

    f_m = 2m - sum_i h(f_i) with h(f) = f (1 + sin(3 pi f)) is separable, so a point is non-dominated
    exactly when each f_i is non-dominated on its own curve (f, -h(f)): h(f_i) above h of every smaller
    value. That one-dimensional filter on a fine grid gives the allowed values per axis; the front is
    their product.
    """
    grid = np.linspace(0.0, 1.0, FINE_GRID)
    h = grid * (1.0 + np.sin(3.0 * np.pi * grid))
    allowed = running_best_mask(-h)  # (FINE_GRID,)
    per_axis = max(2, int(n_points ** (1.0 / (n_obj - 1)) + 1e-9))
    values = grid[spread_over_runs(allowed, per_axis)]  # (about per_axis,)
    first = np.array(list(itertools.product(values, repeat=n_obj - 1)))  # (k^(m-1), m-1)
    last = 2.0 * n_obj - np.sum(first * (1.0 + np.sin(3.0 * np.pi * first)), axis=1)
    return np.column_stack([first, last])


def dtlz_front(key: str, n_obj: int, n_points: int) -> Array:
    """The front of DTLZ problem ``key`` with ``n_obj`` objectives."""
    if key == "dtlz1":
        return dtlz1_front(n_obj, n_points)
    if key in ("dtlz2", "dtlz3", "dtlz4"):
        return sphere_front(n_obj, n_points)
    if key in ("dtlz5", "dtlz6"):
        return degenerate_front(n_obj, n_points)
    if key == "dtlz7":
        return dtlz7_front(n_obj, n_points)
    raise ValueError(f"unknown DTLZ problem {key!r}")
