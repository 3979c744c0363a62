"""Multi-gradient descent: moves a solver's final points onto the surrogate's front.

An evolutionary solver spreads its population along the front it finds but approaches it slowly:
after tens of generations its points still sit a little off the surrogate's Pareto set, and where
that set lies on a face of the cube (ZDT's ``x_i = 0``) crossover and mutation almost never land on
it exactly. A few steps of steepest common descent (Fliege & Svaiter's direction, the one MGDA and
DGEMO's Pareto discovery take: the negative of the smallest-norm convex combination of the
objectives' gradients, along which no objective's value rises) from every final point close that
gap. Every objective falls at every step, so a point moves along the front too; the move grows
with the distance to cover, so it is small from a solver's converged population and large from
random points (ZDT1, 10 variables: f1 moves by 0.04 for points 0.045 above the front in g, by
0.2-0.3 for points 0.45 above it).

Gradients are forward differences of the surrogate problem's values (solvers see values, not
gradients), so the descent works with any surrogate and acquisition; each step costs
``n_vars + 1 + len(STEP_LENGTHS)`` evaluations per point, all in one call each. A step is kept only
where no objective rises and the point stays feasible; a point that cannot improve stays where it
is. The box is respected by projection: a coordinate at a face whose descent would leave the cube is
held there, so a Pareto set on the face is reached exactly. In a discrete space a step of at most
``STEP_LENGTHS[0]`` seldom reaches another architecture, so the descent changes little there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from search_engine.solvers.base import SurrogateProblem
from search_engine.types import Array

DIFFERENCE_STEP = 1e-5
"""Forward-difference step in cube units (a backward one where the forward step would leave it)."""

STEP_LENGTHS = 0.2 * 0.5 ** np.arange(10)
"""Trial step lengths (cube units, along the unit direction), longest first; the longest kept wins."""

FRANK_WOLFE_ROUNDS = 25
"""Iterations of the smallest-norm-point solve for more than two objectives."""


def descend(problem: SurrogateProblem, X: Array, steps: int) -> Array:
    """``X (n, n_vars)`` cube points after up to ``steps`` common-descent steps, canonical.

    Each step: the objectives' gradients at every point (scaled by the objectives' spread over
    ``X``, so no objective's units dominate the direction), the common descent direction with the
    faces the point sits on held, then the longest trial step along it that raises no objective,
    breaks no constraint and still changes the canonical point. Points with no such step stop.
    """
    X = problem.canonicalize(np.clip(np.asarray(X, dtype=np.float64), 0.0, 1.0))
    if steps < 1 or X.shape[0] == 0:
        return X
    F = problem.evaluate(X)
    spread = F.max(axis=0) - F.min(axis=0)
    scale = np.where(spread > 0, spread, 1.0)
    moving = np.ones(X.shape[0], dtype=bool)
    for _ in range(steps):
        if not moving.any():
            break
        index = np.flatnonzero(moving)
        gradients = _gradients(problem, X[index], F[index]) / scale[None, :, None]  # (k, m, n)
        direction = _held_direction(gradients, X[index])  # (k, n), unit length or 0
        stuck = ~np.any(direction != 0, axis=1)
        X_new, F_new, moved = _line_search(problem, X[index], F[index], direction)
        before, F_before = X.copy(), F.copy()
        X[index[moved]], F[index[moved]] = X_new[moved], F_new[moved]
        X, F, met = _distinct(X, F, before, F_before)
        moving[index[stuck | ~moved]] = False
        moving[met] = False
    return X


def _distinct(X: Array, F: Array, before: Array, F_before: Array) -> tuple[Array, Array, Array]:
    """``X`` with every point that stepped onto another one's position moved back, and which did.

    Points descend onto one architecture in a discrete space, and onto one end of the front where
    the Pareto set has a corner; a solver's population holds distinct ones, so such a point stops
    where it was (``before``: distinct, as the starts are). Points that did not step keep their
    place, so each round moves at least one more point back and the loop ends.
    """
    X, F = X.copy(), F.copy()
    met = np.zeros(X.shape[0], dtype=bool)
    while True:
        stepped = np.any(before != X, axis=1)
        order = np.lexsort((np.arange(X.shape[0]), stepped))  # points that stayed first
        _, first = np.unique(X[order], axis=0, return_index=True)
        repeats = np.ones(X.shape[0], dtype=bool)
        repeats[order[first]] = False
        repeats &= stepped  # repeats among the points that stayed are the caller's
        if not repeats.any():
            return X, F, met
        X[repeats], F[repeats] = before[repeats], F_before[repeats]
        met |= repeats


def _gradients(problem: SurrogateProblem, X: Array, F: Array) -> Array:
    """``(k, m, n)`` forward-difference gradients of the ``m`` objectives at ``X (k, n)``."""
    k, n = X.shape
    offsets = np.where(X + DIFFERENCE_STEP <= 1.0, DIFFERENCE_STEP, -DIFFERENCE_STEP)  # (k, n)
    shifted = np.repeat(X[:, None, :], n, axis=1)  # (k, n, n): row j moves coordinate j
    shifted[:, np.arange(n), np.arange(n)] += offsets
    F_shifted = problem.evaluate(shifted.reshape(k * n, n)).reshape(k, n, -1)  # (k, n, m)
    return np.transpose((F_shifted - F[:, None, :]) / offsets[:, :, None], (0, 2, 1))


def _held_direction(gradients: Array, X: Array) -> Array:
    """``(k, n)`` unit common descent directions, coordinates at a face they would leave held at 0."""
    held = np.zeros(X.shape, dtype=bool)
    direction = np.zeros(X.shape)
    for _ in range(X.shape[1] + 1):  # each round holds at least one more coordinate, or ends
        free = _without_flat(np.where(held[:, None, :], 0.0, gradients))
        direction = -_smallest_norm_combination(free)
        leaving = ((X <= 0.0) & (direction < 0)) | ((X >= 1.0) & (direction > 0))
        if not np.any(leaving & ~held):
            break
        held |= leaving
    norm = np.linalg.norm(direction, axis=1, keepdims=True)
    unit: Array = np.where(norm > 1e-12, direction / np.where(norm > 0, norm, 1.0), 0.0)
    return unit


def _without_flat(gradients: Array) -> Array:
    """``gradients (k, m, n)`` with each row's flat ones replaced by its steepest.

    An objective at its minimum over the free coordinates (ZDT1's f1 = x1 with x1 held at 0) has no
    descent direction, so the common direction would be 0 and the point would stop at a weakly
    optimal one (f1 = 0 with f2 far above the front). Leaving it out lets the others descend; the
    line search still refuses any step that raises it.
    """
    norms = np.linalg.norm(gradients, axis=2)  # (k, m)
    flat = norms <= 1e-9 * norms.max(axis=1, keepdims=True)
    steepest = gradients[np.arange(gradients.shape[0]), np.argmax(norms, axis=1)]  # (k, n)
    replaced: Array = np.where(flat[:, :, None], steepest[:, None, :], gradients)
    return replaced


def _smallest_norm_combination(gradients: Array) -> Array:
    """``(k, n)`` the smallest-norm point of the convex hull of each row's ``m`` gradients ``(k, m, n)``."""
    k, m, _ = gradients.shape
    if m == 1:
        return gradients[:, 0]
    if m == 2:
        g1, g2 = gradients[:, 0], gradients[:, 1]
        difference = g1 - g2
        denominator = np.einsum("ij,ij->i", difference, difference)
        weight = np.where(
            denominator > 0,
            -np.einsum("ij,ij->i", g2, difference) / np.where(denominator > 0, denominator, 1.0),
            0.5,
        )
        weight = np.clip(weight, 0.0, 1.0)[:, None]
        return weight * g1 + (1.0 - weight) * g2
    gram = np.einsum("kin,kjn->kij", gradients, gradients)  # (k, m, m)
    weights = np.full((k, m), 1.0 / m)
    for round_ in range(FRANK_WOLFE_ROUNDS):
        vertex = np.argmin(np.einsum("kij,kj->ki", gram, weights), axis=1)  # (k,)
        step = 2.0 / (round_ + 3.0)
        weights *= 1.0 - step
        weights[np.arange(k), vertex] += step
    combined: Array = np.einsum("km,kmn->kn", weights, gradients)
    return combined


def _line_search(
    problem: SurrogateProblem, X: Array, F: Array, direction: Array
) -> tuple[Array, Array, npt.NDArray[np.bool_]]:
    """The longest trial step per point that raises no objective, keeps it feasible and moves it.

    Returns the new points ``(k, n)``, their values ``(k, m)`` and which points moved ``(k,)``.
    """
    k, n = X.shape
    lengths = STEP_LENGTHS[None, :, None]  # (1, t, 1)
    trials = problem.canonicalize(
        np.clip(X[:, None, :] + lengths * direction[:, None, :], 0.0, 1.0).reshape(-1, n)
    )
    F_trials = problem.evaluate(trials).reshape(k, len(STEP_LENGTHS), -1)  # (k, t, m)
    trials = trials.reshape(k, len(STEP_LENGTHS), n)
    better = np.all(F_trials <= F[:, None, :], axis=2) & np.any(F_trials < F[:, None, :], axis=2)
    better &= np.any(trials != X[:, None, :], axis=2)
    if problem.constraints is not None:
        violations = problem.constraints(trials.reshape(-1, n)).reshape(k, len(STEP_LENGTHS), -1)
        better &= np.all(violations <= 0.0, axis=2)
    moved = better.any(axis=1)
    first = np.argmax(better, axis=1)  # the longest step that qualifies
    rows = np.arange(k)
    return trials[rows, first], F_trials[rows, first], moved
