"""Time greedy HVI batch selection against a naive loop, in 2 to 4 objectives.

Two tables. The first is the iteration's own case: 50 picks of 100 candidates against a 100-point
front, in 2 and 3 objectives. The second is the many-objective grid a study with 3 or 4 objectives
meets: 10 picks of 100 or 200 candidates against fronts of 50, 100 and 300 points. The naive
baseline recomputes ``moocore.hypervolume`` of front ∪ picked ∪ {c} for every remaining candidate
at every pick; the picks are compared with it as well as the time. Times are wall milliseconds of
one thread (median of the repeats); the process CPU time of the whole run and the load average
are printed at the end.

    .venv/bin/python benchmarks/hvi_selection.py [--out results/hvi_selection.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
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
GRID_OBJECTIVES, GRID_FRONTS, GRID_CANDIDATES, GRID_BATCH, GRID_REPEATS = (
    (3, 4),
    (50, 100, 300),
    (100, 200),
    10,
    5,
)


def instance(
    n_objectives: int, rng: np.random.Generator, n_front: int = N_FRONT, n_candidates: int = N_CANDIDATES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``(n_front, m)`` non-dominated front, ``(n_candidates, m)`` candidates near it, a reference point."""
    if n_objectives == 2:
        # ZDT1's front f2 = 1 - sqrt(f1); candidates lie on it with noise, about half improve it.
        f1 = np.linspace(0.0, 1.0, n_front)
        front = np.column_stack([f1, 1.0 - np.sqrt(f1)])
        c1 = rng.random(n_candidates)
        candidates = np.column_stack([c1, 1.0 - np.sqrt(c1) + rng.normal(0.0, 0.03, n_candidates)])
    else:
        # DTLZ2's front: the positive part of the unit sphere; candidates at radius 1 +- noise.
        directions = np.abs(rng.normal(size=(n_front + n_candidates, n_objectives)))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        front = directions[:n_front]
        radius = 1.0 + rng.normal(0.0, 0.03, (n_candidates, 1))
        candidates = directions[n_front:] * radius
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


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time of ``run`` over ``repeats`` calls, in milliseconds."""
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def compare(
    n_objectives: int, n_front: int, n_candidates: int, batch: int, repeats: int, rng: np.random.Generator
) -> dict[str, object]:
    """One instance: both methods' median times and whether their hypervolume-adding picks agree."""
    front, candidates, ref = instance(n_objectives, rng, n_front, n_candidates)
    picks, gains = greedy_hvi(candidates, front, ref, batch)
    naive = naive_greedy(candidates, front, ref, batch)
    n_positive = int(np.sum(gains > 0))
    fast = median_ms(functools.partial(greedy_hvi, candidates, front, ref, batch), repeats)
    slow = median_ms(functools.partial(naive_greedy, candidates, front, ref, batch), repeats)
    return {
        "n_objectives": n_objectives,
        "n_front": n_front,
        "n_candidates": n_candidates,
        "batch": batch,
        "greedy_hvi_ms": fast,
        "naive_ms": slow,
        "n_positive": n_positive,
        "same_picks": picks[:n_positive].tolist() == naive[:n_positive],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "hvi_selection.json"))
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    cpu = time.process_time()
    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []
    print(f"greedy HVI: pick {BATCH} of {N_CANDIDATES} candidates against a {N_FRONT}-point front")
    cases = [(m, N_FRONT, N_CANDIDATES, BATCH, REPEATS) for m in (2, 3)]
    cases += [
        (m, f, c, GRID_BATCH, GRID_REPEATS)
        for m in GRID_OBJECTIVES
        for f in GRID_FRONTS
        for c in GRID_CANDIDATES
    ]
    for n_objectives, n_front, n_candidates, batch, repeats in cases:
        row = compare(n_objectives, n_front, n_candidates, batch, repeats, rng)
        rows.append(row)
        fast, slow = float(row["greedy_hvi_ms"]), float(row["naive_ms"])  # type: ignore[arg-type]
        print(
            f"  m={n_objectives} front {n_front:3d} pick {batch:2d} of {n_candidates:3d}: "
            f"greedy_hvi {fast:8.2f} ms   naive {slow:9.2f} ms   speed-up x{slow / fast:6.1f}   "
            f"({row['n_positive']} picks add HV; same picks as naive: {row['same_picks']})",
            flush=True,
        )
    report = {"rows": rows, "cpu_s": time.process_time() - cpu, "load_1min": os.getloadavg()[0], "threads": 1}
    print(f"process CPU {report['cpu_s']:.1f} s, load {report['load_1min']:.1f}, 1 thread")
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
