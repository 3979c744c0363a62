"""Iteration overhead of the HyT-NAS preset on the 23-variable HyT-NAS space.

For data sets of 200, 500 and 1,000 measured architectures, times ``propose`` (XGBoost fit,
NSGA-II population 100 x 25 generations, greedy-HVI selection of 50) and reports the median
seconds per phase. The baseline, timed in the same run, is the same iteration with selection done
the way the original implementation did it (one hypervolume per candidate per pick, in a Python
loop, 50 picks from 100 candidates against a 100-point front); the ratio is reported. Objectives
are a smooth synthetic accuracy/latency trade-off of the architecture's features, so the script
needs no measured data.

Phase times are wall time, so on a shared machine they grow with its load: each proposal's process
CPU time is recorded beside them, with the load average and the thread counts in force (``--threads``
limits BLAS/OpenMP/torch; default: the libraries' own choice, as in a study's worker). One warm-up
proposal (imports, first calls) runs before the timed ones.

    .venv/bin/python benchmarks/iteration_overhead.py [--sizes 200 500 1000] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import thread_counts
from benchmarks.hvi_selection import instance, median_ms, naive_greedy
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.metrics.hypervolume import greedy_hvi
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 500, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS/OpenMP/torch threads (default: theirs)"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "iteration_overhead.json"))
    args = parser.parse_args()
    if args.threads is not None:
        import torch
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
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
    report: dict[str, object] = {"threads": thread_counts(), "cpu_count": os.cpu_count()}
    warm = initial_design(config, args.sizes[0], seed=1)
    propose(config, warm, synthetic_objectives(space.features(warm)), seed=0)
    for n in args.sizes:
        X = initial_design(config, n, seed=n)
        Y = synthetic_objectives(space.features(X))
        phases: dict[str, list[float]] = {
            "fit": [],
            "solve": [],
            "select": [],
            "total": [],
            "cpu": [],
            "load": [],
        }
        for repeat in range(args.repeats):
            cpu = time.process_time()
            proposal = propose(config, X, Y, seed=repeat)
            phases["cpu"].append(time.process_time() - cpu)
            phases["load"].append(os.getloadavg()[0])
            for phase in ("fit", "solve", "select", "total"):
                phases[phase].append(proposal.timings[phase])
        row = {phase: statistics.median(values) for phase, values in phases.items()}
        # Baseline in the same run: this iteration with the original selection loop (one
        # hypervolume per candidate per pick) in place of the lazy greedy.
        front, candidates, ref = instance(2, np.random.default_rng(n))
        ours_ms = median_ms(lambda c=candidates, f=front, r=ref: greedy_hvi(c, f, r, 50))
        naive_ms = median_ms(lambda c=candidates, f=front, r=ref: naive_greedy(c, f, r, 50))
        baseline = row["total"] - row["select"] + naive_ms / 1000
        row.update(
            hvi_ms=ours_ms, naive_hvi_ms=naive_ms, baseline_total=baseline, ratio=baseline / row["total"]
        )
        report[str(n)] = row
        print(
            f"n={n:5d}  fit {row['fit']:.3f}s  solve {row['solve']:.3f}s  select {row['select']:.3f}s  "
            f"total {row['total']:.3f}s (CPU {row['cpu']:.3f}s, load {row['load']:.1f})  "
            f"| baseline {baseline:.3f}s (x{row['ratio']:.2f}); "
            f"HVI 50 of 100: {ours_ms:.1f} ms vs naive {naive_ms:.1f} ms",
            flush=True,
        )
    print(f"threads {report['threads']}")
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
