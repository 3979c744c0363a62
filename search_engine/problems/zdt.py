"""ZDT1-3: two-objective benchmarks on [0, 1]^n_var and their Pareto fronts, written out analytically.

On the front every ZDT problem has g = 1 (x_2 .. x_n = 0), so f2 is a function of f1 = x_1 alone:
ZDT1 f2 = 1 - sqrt(f1) (convex), ZDT2 f2 = 1 - f1^2 (concave), ZDT3 f2 = 1 - sqrt(f1) - f1 sin(10 pi f1),
whose front is the non-dominated part of that curve: five disconnected pieces.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from search_engine.types import Array

ZDT_KEYS = ("zdt1", "zdt2", "zdt3")

FINE_GRID = 200_001
"""Grid points on [0, 1] from which disconnected fronts are cut; spacing 5e-6 places each piece's ends."""


def zdt1_front(n_points: int) -> Array:
    """``(n_points, 2)`` points of f2 = 1 - sqrt(f1), f1 evenly spaced in [0, 1]."""
    f1 = np.linspace(0.0, 1.0, n_points)
    return np.column_stack([f1, 1.0 - np.sqrt(f1)])


def zdt2_front(n_points: int) -> Array:
    """``(n_points, 2)`` points of f2 = 1 - f1^2, f1 evenly spaced in [0, 1]."""
    f1 = np.linspace(0.0, 1.0, n_points)
    return np.column_stack([f1, 1.0 - f1**2])


def zdt3_front(n_points: int) -> Array:
    """About ``n_points`` points on the five pieces of ZDT3's front (each piece's two ends included)."""
    f1 = np.linspace(0.0, 1.0, FINE_GRID)
    f2 = 1.0 - np.sqrt(f1) - f1 * np.sin(10.0 * np.pi * f1)
    keep = running_best_mask(f2)  # (FINE_GRID,): f2 below every f2 to its left = non-dominated
    index = spread_over_runs(keep, n_points)
    return np.column_stack([f1[index], f2[index]])


def zdt_front(key: str, n_obj: int, n_points: int) -> Array:
    """The front of ``key`` (``n_obj`` is always 2 for ZDT and only checked)."""
    if n_obj != 2:
        raise ValueError(f"{key} has 2 objectives, not {n_obj}")
    fronts = {"zdt1": zdt1_front, "zdt2": zdt2_front, "zdt3": zdt3_front}
    return fronts[key](n_points)


def running_best_mask(values: Array) -> npt.NDArray[np.bool_]:
    """True where ``values[i]`` is strictly below every earlier value.

    For a curve (t, values(t)) sampled at increasing t with both coordinates minimised, these
    are exactly the non-dominated samples: any earlier sample has a smaller t, so it dominates
    unless its value is larger.
    """
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(values)[:-1]])
    return np.asarray(values < best_before)


def spread_over_runs(mask: npt.NDArray[np.bool_], n_points: int) -> npt.NDArray[np.int64]:
    """Indices of about ``n_points`` true entries of ``mask``, spread evenly over its runs.

    Each run of consecutive true entries (one piece of a disconnected front) receives points in
    proportion to its length, at least its two ends, so no piece is lost and every piece's
    extreme points are kept.
    """
    index = np.flatnonzero(mask)
    if index.size == 0:
        return index.astype(np.int64)
    breaks = np.flatnonzero(np.diff(index) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [index.size - 1]])
    lengths = ends - starts + 1
    chosen = []
    for start, end, length in zip(starts, ends, lengths, strict=True):
        share = max(2, round(n_points * length / index.size)) if length > 1 else 1
        positions = np.unique(np.round(np.linspace(start, end, min(share, length))).astype(np.int64))
        chosen.append(index[positions])
    return np.concatenate(chosen).astype(np.int64)
