"""Pareto dominance for minimisation: non-dominated ranks, the first front and crowding distance.

Every objective is minimised (see ``types.py``). ``Y`` is ``(n_points, n_objectives)`` and finite.
A point dominates another when it is no worse in every objective and better in at least one, so
duplicated points never dominate each other and share a rank.
"""

from __future__ import annotations

import moocore
import numpy as np
import numpy.typing as npt

from search_engine.types import Array


def _as_objectives(Y: Array) -> Array:
    """``Y`` as a finite float64 ``(n, m)`` array, or ValueError."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] < 1:
        raise ValueError(f"expected Y of shape (n_points, n_objectives), got {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise ValueError("objective values must be finite")
    return Y


def non_dominated_ranks(Y: Array) -> npt.NDArray[np.int64]:
    """Non-dominated sorting: the front each point belongs to.

    moocore's ``pareto_rank`` is exact (O(n log n) in two objectives) and agrees with the
    front-peeling definition, duplicates included.

    Args:
        Y: ``(n_points, n_objectives)`` objective values.

    Returns:
        ``(n_points,)`` ranks: 0 for the first (non-dominated) front, 1 for the front that is
        non-dominated once front 0 is removed, and so on.
    """
    Y = _as_objectives(Y)
    if Y.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    return np.asarray(moocore.pareto_rank(Y), dtype=np.int64)


def pareto_mask(Y: Array) -> npt.NDArray[np.bool_]:
    """``(n_points,)`` True where no other point dominates the point (duplicates all kept)."""
    return np.asarray(non_dominated_ranks(Y) == 0, dtype=np.bool_)


def feasible_pareto_mask(Y: Array, feasible: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    """``(n_points,)`` True for the feasible points no other feasible point dominates.

    Infeasible points neither belong to the front nor push a feasible point off it. Without
    ``feasible`` (no constraints) this is ``pareto_mask``.
    """
    if feasible is None:
        return pareto_mask(Y)
    Y = _as_objectives(Y)
    ok = np.asarray(feasible, dtype=np.bool_).reshape(Y.shape[0])
    mask = np.zeros(Y.shape[0], dtype=np.bool_)
    if ok.any():
        mask[ok] = pareto_mask(Y[ok])
    return mask


def pareto_front(Y: Array) -> Array:
    """The distinct non-dominated points, ``(k, n_objectives)``, sorted by the first objective.

    Ties in the first objective (possible with three or more objectives) are ordered by the
    following ones; duplicated points appear once.
    """
    Y = _as_objectives(Y)
    if Y.shape[0] == 0:
        return np.empty((0, Y.shape[1]))
    # np.unique on rows sorts lexicographically: first objective, then the next ones.
    return np.unique(Y[pareto_mask(Y)], axis=0)


def crowding_distance(Y: Array) -> Array:
    """NSGA-II crowding distance of each point within the set ``Y``.

    For each objective the points are sorted; the two extremes get ``inf`` and every other point
    adds the gap between its neighbours divided by the objective's range (objectives with a zero
    range add nothing). Larger means lonelier, so keeping large distances keeps a spread-out set.

    Returns:
        ``(n_points,)`` distances; all ``inf`` when there are at most two points.
    """
    Y = _as_objectives(Y)
    n, m = Y.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(Y[:, j], kind="stable")  # (n,)
        column = Y[order, j]  # (n,) ascending
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0.0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance
