"""How much of each accuracy signal is network size, and how much short training varies between seeds.

``--n`` random HyT-NAS architectures (``sample_uniform``, fixed seed) are evaluated by the torch
evaluator once per accuracy signal, with the settings a study would use except for small sizes so
the run stays short: classification at ``--resolution`` px (NASWOT on 16 images, SynFlow on one
all-ones image at that size; parameters and multiply-adds from the closed form), and short training
at ``--train-resolution`` px for ``--train-steps`` steps on ``--train-images`` synthetic images under
``train_seeds=3`` (seeds 0, 1, 2; the images those of seed 0). Latency is timed with one pass only:
it is not what this measures.

Reported: Spearman's rho of each signal with the parameter count (``params_total``) over the
architectures, for NASWOT, SynFlow, multiply-adds, trained accuracy with one seed (seed 0's run) and
the mean of three seeds; each signal's rho with the three-seed trained accuracy too (whether it
ranks like the thing it stands in for, at this small scale); and the seed spread of trained
accuracy: per architecture the sample standard deviation and the range (max - min) over the three
seeds, their median and largest. Wall time and process CPU time per signal, and the load average at
the start and the end, sit beside (the machine is shared).

    .venv/bin/python benchmarks/accuracy_proxies.py [--n 20] [--resolution 64] [--train-steps 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators.accuracy_signals import ACCURACY_SIGNALS
from search_engine.registry import EVALUATORS
from search_engine.spaces.hytnas import HyTNASSpace

SEED = 0
SEEDS = 3
RESULTS = Path(__file__).parent / "results"
SIGNALS = ("naswot", "synflow", "params", "macs", "trained")


def load() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(value, 2) for value in os.getloadavg()]


def rho(x: list[float], y: list[float]) -> float:
    return round(float(stats.spearmanr(x, y).statistic), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="random architectures")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--train-resolution", type=int, default=32)
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--train-images", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=RESULTS / "accuracy_proxies.json")
    args = parser.parse_args()

    space = HyTNASSpace()
    architectures = space.decode(space.sample_uniform(args.n, np.random.default_rng(SEED)))
    common = {
        "task": "classification",
        "resolution": args.resolution,
        "warmup": 0,
        "repeats": 1,
        "max_repeats": 1,
        "time_limit": 3600.0,
        "train_resolution": args.train_resolution,
        "train_steps": args.train_steps,
        "train_images": args.train_images,
        "train_seeds": SEEDS,
        "seed": SEED,
    }
    report: dict[str, Any] = {"settings": {**common, "n": args.n}, "load_start": load()}
    values: dict[str, list[float]] = {}
    params: list[float] = []
    per_seed: list[list[float]] = []
    cost: dict[str, dict[str, float]] = {}
    for signal in SIGNALS:
        evaluator = EVALUATORS.build("torch", {**common, "accuracy": signal}, "evaluator")
        wall, cpu = time.perf_counter(), time.process_time()
        results = evaluator.evaluate(architectures)
        cost[signal] = {
            "wall_s_per_architecture": round((time.perf_counter() - wall) / args.n, 3),
            "cpu_s_per_architecture": round((time.process_time() - cpu) / args.n, 3),
            "load_after": load()[0],
        }
        failed = [r.error for r in results if not r.ok]
        if failed:
            raise SystemExit(f"{signal}: {len(failed)} failed evaluation(s), e.g. {failed[0]}")
        metric = ACCURACY_SIGNALS[signal].metric
        values[signal] = [r.metrics[metric] for r in results]
        if signal == "params":
            params = [r.metrics["params_total"] for r in results]
        if signal == "trained":
            per_seed = [[r.metrics[f"val_accuracy_seed_{SEED + s}"] for s in range(SEEDS)] for r in results]
        print(f"{signal:8s} {cost[signal]['wall_s_per_architecture']:7.2f} s/architecture", flush=True)
    values["trained_1_seed"] = [seeds[0] for seeds in per_seed]
    values["trained_3_seeds"] = values.pop("trained")
    std = [statistics.stdev(seeds) for seeds in per_seed]
    spread = [max(seeds) - min(seeds) for seeds in per_seed]
    report["spearman_with_params"] = {name: rho(column, params) for name, column in values.items()}
    report["spearman_with_trained_3_seeds"] = {
        name: rho(column, values["trained_3_seeds"]) for name, column in values.items()
    }
    report["seed_spread_points"] = {
        "std_median": round(statistics.median(std), 2),
        "std_max": round(max(std), 2),
        "range_median": round(statistics.median(spread), 2),
        "range_max": round(max(spread), 2),
        "trained_1_vs_3_seeds_spearman": rho(values["trained_1_seed"], values["trained_3_seeds"]),
    }
    report["cost"] = cost
    report["load_end"] = load()
    report["values"] = {**values, "params_total": params, "trained_per_seed": per_seed}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"load average: start {report['load_start']}, end {report['load_end']}")
    print(f"{'signal':16s} {'rho(params)':>12s} {'rho(trained 3)':>15s}")
    for name in values:
        with_params = report["spearman_with_params"][name]
        with_trained = report["spearman_with_trained_3_seeds"][name]
        print(f"{name:16s} {with_params:12.3f} {with_trained:15.3f}")
    print("seed spread of trained accuracy (points):", report["seed_spread_points"])


if __name__ == "__main__":
    main()
