"""Hypervolume, hypervolume improvement (HVI), greedy HVI batches, log HV difference and IGD.

All objectives are minimised. A point adds hypervolume only inside the reference box: it must be
strictly better than ``ref_point`` in every objective. The HVI of a candidate ``c`` over a set ``S``
is ``HV(S ∪ {c}) - HV(S)``; it is computed as the volume of ``c``'s box ``[c, ref]`` minus the
hypervolume of ``S`` clipped to that box (each point replaced by ``max(s, c)``), which avoids
subtracting two large, nearly equal volumes.
"""

from __future__ import annotations

import math

import moocore
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from search_engine.metrics.pareto import non_dominated_ranks, pareto_mask
from search_engine.types import Array

_BLOCK_2D = 8
"""Stale candidates re-evaluated together in two objectives (one vectorised call costs the same as one)."""


def _checked(points: Array, ref_point: Array, name: str) -> tuple[Array, Array]:
    """``points`` as finite ``(n, m)`` float64 and ``ref_point`` as finite ``(m,)``, or ValueError."""
    ref = np.asarray(ref_point, dtype=np.float64).ravel()
    P = np.asarray(points, dtype=np.float64)
    if P.ndim == 2 and P.shape[0] == 0:
        P = P.reshape(0, ref.shape[0])
    if P.ndim != 2 or P.shape[1] != ref.shape[0] or ref.shape[0] < 1:
        raise ValueError(f"{name} {P.shape} and ref_point {ref.shape} disagree on the number of objectives")
    if not (np.all(np.isfinite(P)) and np.all(np.isfinite(ref))):
        raise ValueError(f"{name} and ref_point must be finite")
    return P, ref


def hypervolume(Y: Array, ref_point: Array, feasible: npt.NDArray[np.bool_] | None = None) -> float:
    """Exact hypervolume dominated by ``Y (n, m)`` inside the box bounded by ``ref_point (m,)``.

    Points that are not strictly better than the reference point in every objective add
    nothing; an empty set has hypervolume 0. With ``feasible (n,)`` (a study with constraints)
    only the feasible points count: an architecture that breaks a bound cannot be deployed, so
    it cannot widen the front either.
    """
    Y, ref = _checked(Y, ref_point, "Y")
    inside = np.all(ref > Y, axis=1)  # (n,): strictly inside the box
    if feasible is not None:
        inside &= np.asarray(feasible, dtype=np.bool_).reshape(Y.shape[0])
    if not np.any(inside):
        return 0.0
    return float(moocore.hypervolume(Y[inside], ref=ref))


def _reduced_front(front: Array, ref: Array) -> Array:
    """The distinct non-dominated points of ``front`` inside the reference box, sorted by objective 0."""
    inside = front[np.all(front < ref, axis=1)]  # (k', m)
    if inside.shape[0] == 0:
        return inside
    return np.unique(inside[pareto_mask(inside)], axis=0)


def _hvi_prepared(C: Array, F: Array, ref: Array) -> Array:
    """``(n,)`` HVI of each row of ``C`` over ``F``, a reduced front (see ``_reduced_front``)."""
    gain = np.zeros(C.shape[0])
    inside = np.all(ref > C, axis=1)  # (n,)
    if F.shape[0]:
        # Weakly dominated candidates add exactly nothing; settle them without rounding noise.
        inside &= ~np.any(np.all(F[None, :, :] <= C[:, None, :], axis=2), axis=1)
    c = C[inside]  # (n_in, m)
    box = np.prod(ref - c, axis=1)  # (n_in,)
    if F.shape[0] == 0 or c.shape[0] == 0:
        gain[inside] = box
        return gain
    if C.shape[1] == 2:
        # F is sorted by f1 ascending (so f2 descending). Clipped to c's box, the front is a staircase
        # with corners (a_i, b_i) = (max(F_i1, c1), max(F_i2, c2)); its area is
        # sum_i (a_{i+1} - a_i) * (r2 - b_i) with a_{k+1} = r1.
        a = np.maximum(F[None, :, 0], c[:, 0:1])  # (n_in, k)
        b = np.maximum(F[None, :, 1], c[:, 1:2])  # (n_in, k)
        widths = np.diff(a, axis=1, append=ref[0])  # (n_in, k)
        covered = np.sum(widths * (ref[1] - b), axis=1)  # (n_in,)
    else:
        covered = np.array([moocore.hypervolume(np.maximum(F, point), ref=ref) for point in c])
    gain[inside] = np.maximum(box - covered, 0.0)
    return gain


def hypervolume_improvement(candidates: Array, front: Array, ref_point: Array) -> Array:
    """Hypervolume each candidate would add to ``front`` on its own.

    Args:
        candidates: ``(n, m)`` points.
        front: ``(k, m)`` points (dominated ones and those outside the box are ignored; may be empty).
        ref_point: ``(m,)`` reference point.

    Returns:
        ``(n,)`` non-negative improvements: exact and vectorised in two objectives, one moocore
        hypervolume per candidate otherwise.
    """
    C, ref = _checked(candidates, ref_point, "candidates")
    F, _ = _checked(front, ref, "front")
    return _hvi_prepared(C, _reduced_front(F, ref), ref)


def greedy_hvi(
    candidates: Array, front: Array, ref_point: Array, k: int
) -> tuple[npt.NDArray[np.int64], Array]:
    """Greedy batch: repeatedly take the candidate adding the most hypervolume to front ∪ picked.

    Hypervolume is submodular, so a candidate's HVI only shrinks as picks join the set: a value
    computed earlier is an upper bound. The lazy scheme keeps those bounds and re-evaluates only
    the best-bounded stale candidates, taking a candidate once its fresh value beats every other
    bound (ties go to the lower index). That yields the same picks as re-evaluating every
    candidate at every step, at a fraction of the cost.

    Once no remaining candidate adds hypervolume (all dominated or outside the reference box),
    the batch is filled in this order: non-dominated rank among the remaining candidates, then
    the additive epsilon to the region that would add hypervolume — the smallest shift, in
    objectives scaled by their extent (reference point included), that would move the candidate
    inside the reference box and out of the dominated region of front ∪ picked — then index.

    Args:
        candidates: ``(n, m)`` candidate points (e.g. predicted means).
        front: ``(k_f, m)`` current points (e.g. measured values; dominated ones are ignored).
        ref_point: ``(m,)`` reference point.
        k: batch size; at most ``n`` picks are returned.

    Returns:
        ``(indices, gains)``: ``(min(k, n),)`` distinct candidate indices in pick order and the
        hypervolume each added when picked (0 for the filled picks).
    """
    C, ref = _checked(candidates, ref_point, "candidates")
    F, _ = _checked(front, ref, "front")
    n = C.shape[0]
    want = max(0, min(int(k), n))
    current = _reduced_front(F, ref)  # (k', m)
    bound = _hvi_prepared(C, current, ref)  # (n,) exact at the start
    fresh = np.ones(n, dtype=bool)
    available = np.ones(n, dtype=bool)
    block = _BLOCK_2D if C.shape[1] == 2 else 1
    picks: list[int] = []
    gains: list[float] = []
    while len(picks) < want:
        masked = np.where(available, bound, -np.inf)  # (n,)
        best = int(np.argmax(masked))
        if masked[best] <= 0.0:
            break  # bounds are >= true values: nothing left adds hypervolume
        if fresh[best]:
            picks.append(best)
            gains.append(float(bound[best]))
            available[best] = False
            current = _reduced_front(np.vstack([current, C[best]]), ref)
            fresh[:] = False
            continue
        stale = np.flatnonzero(available & ~fresh)
        top = stale[np.argsort(-bound[stale], kind="stable")[:block]]  # starts with `best`
        bound[top] = _hvi_prepared(C[top], current, ref)
        fresh[top] = True
    if len(picks) < want:
        rest = np.flatnonzero(available)
        order = _fill_order(C, rest, current, ref, np.vstack([F, C]))
        extra = rest[order[: want - len(picks)]]
        picks.extend(int(i) for i in extra)
        gains.extend(0.0 for _ in extra)
    return np.array(picks, dtype=np.int64), np.array(gains, dtype=np.float64)


def _fill_order(
    C: Array, rest: npt.NDArray[np.int64], current: Array, ref: Array, seen: Array
) -> npt.NDArray[np.int64]:
    """Order of ``rest`` for zero-HVI picks: non-dominated rank, additive epsilon, index."""
    points = C[rest]  # (n_rest, m)
    everything = np.vstack([seen, ref[None, :]])
    scale = np.ptp(everything, axis=0)  # (m,)
    scale[scale <= 0.0] = 1.0
    # Shift needed to enter the box: c_j - eps < r_j for every j.
    eps = np.max((points - ref) / scale, axis=1)  # (n_rest,)
    if current.shape[0]:
        # Shift needed to escape s's dominated region: c_j - eps < s_j for some j, for every s.
        escape = np.min((points[:, None, :] - current[None, :, :]) / scale, axis=2)  # (n_rest, k')
        eps = np.maximum(eps, escape.max(axis=1))
    ranks = non_dominated_ranks(points)
    return np.lexsort((rest, eps, ranks)).astype(np.int64)


def log_hypervolume_difference(hv: float, true_hv: float, floor: float = 1e-12) -> float:
    """``log10(true_hv - hv)``, the usual convergence curve for problems with a known front.

    The difference is clamped at ``floor`` so that a set matching (or, by rounding, exceeding)
    the true hypervolume gives ``log10(floor)`` instead of ``-inf`` or NaN.
    """
    if not (math.isfinite(hv) and math.isfinite(true_hv)):
        raise ValueError(f"hypervolumes must be finite, got {hv} and {true_hv}")
    if floor <= 0.0:
        raise ValueError(f"floor must be positive, got {floor}")
    return math.log10(max(true_hv - hv, floor))


def igd(Y: Array, true_front: Array) -> float:
    """Inverted generational distance: mean Euclidean distance from each true-front point to ``Y``.

    Args:
        Y: ``(n, m)`` points found (``inf`` when empty: nothing approximates the front).
        true_front: ``(k, m)`` points sampled on the true Pareto front, ``k >= 1``.
    """
    T = np.asarray(true_front, dtype=np.float64)
    if T.ndim != 2 or T.shape[0] == 0 or not np.all(np.isfinite(T)):
        raise ValueError(f"true_front must be a finite, non-empty (k, m) array, got shape {T.shape}")
    P = np.asarray(Y, dtype=np.float64)
    if P.size == 0:
        return math.inf
    if P.ndim != 2 or P.shape[1] != T.shape[1] or not np.all(np.isfinite(P)):
        raise ValueError(f"Y must be a finite (n, {T.shape[1]}) array, got shape {P.shape}")
    distances, _ = cKDTree(P).query(T)  # (k,)
    return float(np.mean(distances))
