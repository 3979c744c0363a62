"""Iteration overhead of a preset on the 23-variable HyT-NAS space, up to thousands of evaluations.

For data sets of 200, 500 and 1,000 measured architectures (or any ``--sizes``, e.g. 2,000 and
5,000), times ``propose`` with ``--preset`` (default ``hytnas``: XGBoost fit, NSGA-II population
100 x 25 generations, greedy-HVI selection of 50; ``hytnas-tuned``, ``gp`` and ``auto`` too) and reports the
median seconds per phase. The baseline, timed in the same run, is the same iteration with selection
done the way the original implementation did it (one hypervolume per candidate per pick, in a
Python loop, a batch's picks from 100 candidates against a 100-point front); the ratio is reported.
Objectives are a smooth synthetic accuracy/latency trade-off of the architecture's features, so the
script needs no measured data.

Phase times are wall time, so on a shared machine they grow with its load. Each proposal therefore
runs twice: once timed by the wall clock, once with ``propose``'s phase clock reading process CPU
time (the same work, since a proposal is a function of its inputs), which gives each phase's CPU
time; the whole proposal's CPU time, the load average and the thread counts in force are recorded
beside them (``--threads`` limits BLAS/OpenMP/torch; default: the libraries' own choice, as in a
study's worker). One warm-up proposal (imports, first calls) runs before the timed ones.

    .venv/bin/python benchmarks/iteration_overhead.py [--preset hytnas] [--sizes 200 500 1000 2000 5000]
        [--repeats 5] [--threads 1] [--out results/iteration_overhead.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import thread_counts
from benchmarks.hvi_selection import instance, median_ms, naive_greedy
from search_engine import optimizer
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.metrics.hypervolume import greedy_hvi
from search_engine.objectives import Objective
from search_engine.optimizer import initial_design, propose
from search_engine.presets import get_preset
from search_engine.types import Proposal

PHASES = ("fit", "solve", "select", "total")
PRESETS = ("hytnas", "hytnas-tuned", "gp", "auto")


def synthetic_objectives(features: np.ndarray) -> np.ndarray:
    """``(n, 2)`` accuracy (%) rising and latency (ms) rising with model size, plus fixed noise."""
    size = np.log1p(features).sum(axis=1)
    size = (size - 20.0) / 10.0
    rng = np.random.default_rng(0)
    accuracy = 74 + 10 * np.tanh(size) + rng.normal(0, 0.5, len(size))
    latency = 600 + 900 * np.exp(size) + rng.normal(0, 40, len(size))
    return np.column_stack([accuracy, latency])


def cpu_proposal(config: StudyConfig, X: np.ndarray, Y: np.ndarray, seed: int) -> Proposal:
    """``propose`` with its phase timings in process CPU seconds instead of wall seconds.

    ``propose`` times its phases with ``time.perf_counter``; here the optimizer module's clock reads
    ``time.process_time`` instead, so the same phases report the CPU they used (one thread: the
    threads' CPU is not mixed in).
    """
    with mock.patch.object(optimizer, "time", SimpleNamespace(perf_counter=time.process_time)):
        return propose(config, X, Y, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="hytnas", choices=PRESETS)
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
    config = get_preset(args.preset).apply(
        StudyConfig(
            space=ComponentSpec("hytnas"),
            evaluator=ComponentSpec("benchmark"),
            objectives=(Objective("accuracy", "max", "%"), Objective("latency", "min", "ms")),
            ref_point=(75.0, 3500.0),
            budget=max(5000, 2 * max(args.sizes)),
        )
    )
    space = config.build_space()
    report: dict[str, object] = {
        "preset": args.preset,
        "threads": thread_counts(),
        "cpu_count": os.cpu_count(),
        "repeats": args.repeats,
    }
    warm = initial_design(config, args.sizes[0], seed=1)
    propose(config, warm, synthetic_objectives(space.features(warm)), seed=0)
    picks = config.batch_size  # the baseline's selection picks one batch
    for n in args.sizes:
        X = initial_design(config, n, seed=n)
        Y = synthetic_objectives(space.features(X))
        phases: dict[str, list[float]] = {
            name: [] for name in (*PHASES, *(f"cpu_{p}" for p in PHASES), "cpu", "load")
        }
        for repeat in range(args.repeats):
            cpu = time.process_time()
            proposal = propose(config, X, Y, seed=repeat)
            phases["cpu"].append(time.process_time() - cpu)
            phases["load"].append(os.getloadavg()[0])
            timed = cpu_proposal(config, X, Y, seed=repeat)
            for phase in PHASES:
                phases[phase].append(proposal.timings[phase])
                phases[f"cpu_{phase}"].append(timed.timings[phase])
        row = {phase: statistics.median(values) for phase, values in phases.items()}
        # Baseline in the same run: this iteration with the original selection loop (one
        # hypervolume per candidate per pick) in place of the lazy greedy.
        front, candidates, ref = instance(2, np.random.default_rng(n))
        ours_ms = median_ms(functools.partial(greedy_hvi, candidates, front, ref, picks))
        naive_ms = median_ms(functools.partial(naive_greedy, candidates, front, ref, picks))
        baseline = row["total"] - row["select"] + naive_ms / 1000
        row.update(
            hvi_ms=ours_ms, naive_hvi_ms=naive_ms, baseline_total=baseline, ratio=baseline / row["total"]
        )
        report[str(n)] = row
        print(
            f"n={n:5d}  wall/CPU  fit {row['fit']:.3f}/{row['cpu_fit']:.3f}s  "
            f"solve {row['solve']:.3f}/{row['cpu_solve']:.3f}s  "
            f"select {row['select']:.3f}/{row['cpu_select']:.3f}s  "
            f"total {row['total']:.3f}s (CPU {row['cpu']:.3f}s, load {row['load']:.1f})  "
            f"| baseline {baseline:.3f}s (x{row['ratio']:.2f}); "
            f"HVI {picks} of 100: {ours_ms:.1f} ms vs naive {naive_ms:.1f} ms",
            flush=True,
        )
    print(f"threads {report['threads']}")
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
