"""Iteration overhead of the HyT-NAS preset on the 23-variable HyT-NAS space.

For data sets of 200, 500 and 1,000 measured architectures, times ``propose`` (XGBoost fit,
NSGA-II population 100 x 25 generations, greedy-HVI selection of 50) and reports the median
seconds per phase. In the same run it times a baseline selection written the way the original
implementation did it — recompute one hypervolume per candidate per pick in a Python loop — over
the same candidates, and reports the ratio. Objectives are a smooth synthetic accuracy/latency
trade-off of the architecture's features, so the script needs no measured data.

    .venv/bin/python benchmarks/iteration_overhead.py [--sizes 200 500 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.metrics.hypervolume import greedy_hvi, hypervolume
from search_engine.metrics.pareto import pareto_front
from search_engine.objectives import Objective
from search_engine.optimizer import initial_design, propose
from search_engine.presets import get_preset


def synthetic_objectives(features: np.ndarray) -> np.ndarray:
    """``(n, 2)`` accuracy (%) rising and latency (ms) rising with model size, plus fixed noise."""
    size = np.log1p(features).sum(axis=1)
    size = (size - 20.0) / 10.0
    rng = np.random.default_rng(0)
    accuracy = 74 + 10 * np.tanh(size) + rng.normal(0, 0.5, len(size))
    latency = 600 + 900 * np.exp(size) + rng.normal(0, 40, len(size))
    return np.column_stack([accuracy, latency])


def naive_greedy_hvi(candidates: np.ndarray, front: np.ndarray, ref: np.ndarray, k: int) -> list[int]:
    """The original style: a full hypervolume per candidate per pick, in a Python loop."""
    chosen: list[int] = []
    current = front
    for _ in range(k):
        base = hypervolume(current, ref)
        gains = [
            -1.0 if i in chosen else hypervolume(np.vstack([current, candidates[i]]), ref) - base
            for i in range(len(candidates))
        ]
        best = int(np.argmax(gains))
        chosen.append(best)
        current = np.vstack([current, candidates[best]])
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 500, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "iteration_overhead.json"))
    args = parser.parse_args()
    # The evaluator is never called here: objectives come from synthetic_objectives.
    config = get_preset("hytnas").apply(
        StudyConfig(
            space=ComponentSpec("hytnas"),
            evaluator=ComponentSpec("benchmark"),
            objectives=(Objective("accuracy", "max", "%"), Objective("latency", "min", "ms")),
            ref_point=(75.0, 3500.0),
            budget=5000,
        )
    )
    space = config.build_space()
    report: dict[str, object] = {}
    for n in args.sizes:
        X = initial_design(config, n, seed=n)
        Y = synthetic_objectives(space.features(X))
        phases: dict[str, list[float]] = {"fit": [], "solve": [], "select": [], "total": []}
        for repeat in range(args.repeats):
            proposal = propose(config, X, Y, seed=repeat)
            for phase in phases:
                phases[phase].append(proposal.timings[phase])
        # Selection alone, ours vs the naive loop, on 100 candidates against the current front.
        ref = np.array([-75.0, 3500.0])
        Y_min = Y * np.array([-1.0, 1.0])
        front = pareto_front(Y_min)
        cand = Y_min[np.random.default_rng(1).choice(n, 100, replace=False)] - np.array([1.0, 50.0])
        ours, naive = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fast_pick = greedy_hvi(cand, front, ref, 50)[0]
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            slow_pick = naive_greedy_hvi(cand, front, ref, 50)
            naive.append(time.perf_counter() - t)
        same = list(fast_pick[:10]) == slow_pick[:10]
        row = {phase: statistics.median(values) for phase, values in phases.items()}
        row.update(
            hvi_ms=1000 * statistics.median(ours),
            naive_hvi_ms=1000 * statistics.median(naive),
            hvi_speedup=statistics.median(naive) / statistics.median(ours),
            same_first_picks=same,
        )
        report[str(n)] = row
        print(
            f"n={n:5d}  fit {row['fit']:.3f}s  solve {row['solve']:.3f}s  select {row['select']:.3f}s  "
            f"total {row['total']:.3f}s  | HVI 50 of 100: {row['hvi_ms']:.1f} ms vs naive "
            f"{row['naive_hvi_ms']:.1f} ms (x{row['hvi_speedup']:.0f}, same picks: {same})",
            flush=True,
        )
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
