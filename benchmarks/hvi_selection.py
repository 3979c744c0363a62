"""Time greedy HVI batch selection (50 of 100 candidates, 100-point front) against a naive loop.

The naive baseline recomputes ``moocore.hypervolume`` of front ∪ picked ∪ {c} for every remaining
candidate at every pick. Run: ``.venv/bin/python benchmarks/hvi_selection.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import moocore
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.metrics.hypervolume import greedy_hvi

N_FRONT, N_CANDIDATES, BATCH, REPEATS = 100, 100, 50, 15


def instance(n_objectives: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``(100, m)`` non-dominated front, ``(100, m)`` candidates scattered around it, a reference point."""
    if n_objectives == 2:
        # ZDT1's front f2 = 1 - sqrt(f1); candidates lie on it with noise, about half improve it.
        f1 = np.linspace(0.0, 1.0, N_FRONT)
        front = np.column_stack([f1, 1.0 - np.sqrt(f1)])
        c1 = rng.random(N_CANDIDATES)
        candidates = np.column_stack([c1, 1.0 - np.sqrt(c1) + rng.normal(0.0, 0.03, N_CANDIDATES)])
    else:
        # DTLZ2's front: the positive part of the unit sphere; candidates at radius 1 +- noise.
        directions = np.abs(rng.normal(size=(N_FRONT + N_CANDIDATES, n_objectives)))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        front = directions[:N_FRONT]
        radius = 1.0 + rng.normal(0.0, 0.03, (N_CANDIDATES, 1))
        candidates = directions[N_FRONT:] * radius
    return front, candidates, np.full(n_objectives, 1.1)


def naive_greedy(candidates: np.ndarray, front: np.ndarray, ref: np.ndarray, k: int) -> list[int]:
    """Plain greedy: every remaining candidate's HVI recomputed with moocore at every pick."""
    chosen: list[int] = []
    current = front
    remaining = list(range(candidates.shape[0]))
    for _ in range(k):
        base = moocore.hypervolume(current, ref=ref)
        gains = [moocore.hypervolume(np.vstack([current, candidates[i]]), ref=ref) - base for i in remaining]
        best = remaining.pop(int(np.argmax(gains)))
        chosen.append(best)
        current = np.vstack([current, candidates[best]])
    return chosen


def median_ms(run: Callable[[], object]) -> float:
    """Median wall time of ``run`` over ``REPEATS`` calls, in milliseconds."""
    run()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"greedy HVI: pick {BATCH} of {N_CANDIDATES} candidates against a {N_FRONT}-point front")
    for n_objectives in (2, 3):
        front, candidates, ref = instance(n_objectives, rng)
        picks, gains = greedy_hvi(candidates, front, ref, BATCH)
        naive = naive_greedy(candidates, front, ref, BATCH)
        n_positive = int(np.sum(gains > 0))
        same = picks[:n_positive].tolist() == naive[:n_positive]
        fast = median_ms(lambda c=candidates, f=front, r=ref: greedy_hvi(c, f, r, BATCH))
        slow = median_ms(lambda c=candidates, f=front, r=ref: naive_greedy(c, f, r, BATCH))
        print(
            f"  {n_objectives} objectives: greedy_hvi {fast:8.2f} ms   naive {slow:8.2f} ms   "
            f"speed-up x{slow / fast:6.1f}   ({n_positive} picks add HV; same picks as naive: {same})"
        )


if __name__ == "__main__":
    main()
