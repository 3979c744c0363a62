"""Asynchronous proposals against synchronous batches on a simulated pool of workers.

Protocol: ZDT1 (6 variables, 2 objectives) and DTLZ2 (6 variables, 3 objectives), the ``hytnas``
preset (XGBoost, NSGA-II, HVI) at a budget of 100 with 20 initial architectures; W = 4 and 8
workers whose evaluation times are log-normal (median 60 s, 95th/5th percentile ratio 10), drawn
in the order evaluations start from a generator seeded per seed, so both modes meet the same
sequence of times. Synchronous: batches of W, each told when its slowest member is done.
Asynchronous: keep W in flight, a proposal of what is missing after every result, conditioned on
the points still in flight (``believer`` by default; ``--modes`` adds ``async-ignore``). The pool
and its clock are simulated in-process (``search_engine.runner.run_pool``): simulated seconds are
exact and exclude the optimizer's own CPU time, reported beside them. Hypervolume is the
fraction of the true front's, at the problem's default reference point, against evaluations and
against simulated time (at fractions of the synchronous run's time to the budget, per seed).
Results go to benchmarks/results/async_pool.json.

    .venv/bin/python benchmarks/async_pool.py --seeds 3
    .venv/bin/python benchmarks/async_pool.py --problems zdt1 --workers 4 --modes sync async async-ignore
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.metrics.hypervolume import hypervolume
from search_engine.objectives import to_minimisation
from search_engine.runner import PoolResult, SimulatedPool, run_pool
from search_engine.setups import study_config

PROBLEMS = {"zdt1": 2, "dtlz2": 3}
"""Problems and their number of objectives."""
MODES = ("sync", "async", "async-ignore")
BUDGET, N_INIT, N_VAR = 100, 20, 6
MEDIAN_SECONDS, SLOW_TO_FAST = 60.0, 10.0
EVALUATION_MARKS = (20, 40, 60, 80, 100)
"""Evaluation counts at which hypervolume is compared."""
TIME_MARKS = (0.25, 0.5, 0.75, 1.0)
"""Fractions of the synchronous run's time to the budget at which hypervolume is compared."""


def mode_config(problem: str, workers: int, mode: str, seed: int) -> StudyConfig:
    config = study_config(
        problem,
        "hytnas",
        budget=BUDGET,
        seed=seed,
        n_init=N_INIT,
        batch_size=workers,
        n_var=N_VAR,
        n_obj=PROBLEMS[problem],
    )
    if mode == "sync":
        return config
    pending = ComponentSpec("ignore" if mode == "async-ignore" else "believer")
    return config.with_changes(in_flight=workers, pending=pending)


def hv_after_evaluations(result: PoolResult, config: StudyConfig, true_hv: float) -> list[float]:
    """Fraction of the true hypervolume held by the first n results, for n in EVALUATION_MARKS."""
    Y_min = to_minimisation(result.run.Y, config.objectives)
    ref = np.asarray(config.ref_point, dtype=np.float64)
    out = []
    for n in EVALUATION_MARKS:
        rows = Y_min[:n][np.all(np.isfinite(Y_min[:n]), axis=1)]
        out.append(float(hypervolume(rows, ref)) / true_hv)
    return out


def hv_at_time(result: PoolResult, seconds: float, true_hv: float) -> float:
    """Fraction of the true hypervolume told by simulated second ``seconds``."""
    told = [p.hypervolume for p in result.trace if p.seconds <= seconds + 1e-9]
    return (told[-1] if told else 0.0) / true_hv


def run_one(problem: str, workers: int, mode: str, seed: int, true_hv: float) -> dict[str, Any]:
    config = mode_config(problem, workers, mode, seed)
    pool = SimulatedPool(workers, MEDIAN_SECONDS, SLOW_TO_FAST, seed=seed)
    started = time.perf_counter()
    result = run_pool(config, config.build_evaluator(), pool)
    keys = config.build_space().keys(result.run.X)
    assert len(keys) == BUDGET == len(set(keys)), (
        "a run must spend exactly the budget on distinct architectures"
    )
    return {
        "simulated_seconds": result.simulated_seconds,
        "idle_fraction": result.idle_fraction,
        "n_asks": result.n_asks,
        "proposal_cpu_seconds": result.proposal_cpu_seconds,
        "wall_seconds": time.perf_counter() - started,
        "hv_by_evaluations": hv_after_evaluations(result, config, true_hv),
        "trace": [(p.seconds, p.n_evaluations, p.hypervolume / true_hv) for p in result.trace],
        "_result": result,
    }


def run_problem(problem: str, workers_list: list[int], modes: list[str], seeds: int) -> dict[str, Any]:
    base = mode_config(problem, 4, "sync", 0)
    evaluator = base.build_evaluator()
    assert isinstance(evaluator, BenchmarkEvaluator)
    true_hv = float(hypervolume(evaluator.true_front(), np.asarray(base.ref_point, dtype=np.float64)))
    out: dict[str, Any] = {"ref_point": list(base.ref_point or ()), "true_hv": true_hv}
    for workers in workers_list:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for seed in range(seeds):
            for mode in modes:
                runs[mode].append(run_one(problem, workers, mode, seed, true_hv))
                r = runs[mode][-1]
                print(
                    f"{problem:6} W={workers} {mode:12} seed {seed}: "
                    f"{r['simulated_seconds']:7.0f} simulated s, idle {100 * r['idle_fraction']:4.1f} %, "
                    f"HV {r['hv_by_evaluations'][-1]:.4f}, {r['n_asks']} asks in "
                    f"{r['proposal_cpu_seconds']:.1f} CPU s ({r['wall_seconds']:.0f} s)",
                    flush=True,
                )
            sync_seconds = runs["sync"][seed]["simulated_seconds"] if "sync" in runs else None
            for mode in modes:
                r = runs[mode][seed]
                result = r.pop("_result")
                if sync_seconds is not None:
                    r["hv_by_time"] = [hv_at_time(result, f * sync_seconds, true_hv) for f in TIME_MARKS]
        out[f"W{workers}"] = {mode: summarise(runs[mode], runs.get("sync")) for mode in modes}
    return out


def summarise(runs: list[dict[str, Any]], sync: list[dict[str, Any]] | None) -> dict[str, Any]:
    def stat(values: list[float]) -> dict[str, float]:
        return {"mean": float(np.mean(values)), "std": float(np.std(values))}

    summary: dict[str, Any] = {
        "simulated_seconds": stat([r["simulated_seconds"] for r in runs]),
        "idle_fraction": stat([r["idle_fraction"] for r in runs]),
        "n_asks": stat([r["n_asks"] for r in runs]),
        "proposal_cpu_seconds": stat([r["proposal_cpu_seconds"] for r in runs]),
        "cpu_seconds_per_proposal": stat([r["proposal_cpu_seconds"] / r["n_asks"] for r in runs]),
        "hv_by_evaluations": np.mean([r["hv_by_evaluations"] for r in runs], axis=0).tolist(),
        "hv_final": stat([r["hv_by_evaluations"][-1] for r in runs]),
        "runs": runs,
    }
    if "hv_by_time" in runs[0]:
        summary["hv_by_time"] = np.mean([r["hv_by_time"] for r in runs], axis=0).tolist()
    if sync is not None:
        summary["sooner_than_sync"] = stat(
            [s["simulated_seconds"] / r["simulated_seconds"] for r, s in zip(runs, sync, strict=True)]
        )
        summary["hv_final_minus_sync"] = stat(
            [r["hv_by_evaluations"][-1] - s["hv_by_evaluations"][-1] for r, s in zip(runs, sync, strict=True)]
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--workers", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--modes", nargs="+", default=["sync", "async"], choices=MODES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "async_pool.json"))
    args = parser.parse_args()
    if "sync" not in args.modes:
        parser.error("the comparison needs the 'sync' mode")
    load_before = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "protocol": {
            "budget": BUDGET,
            "n_init": N_INIT,
            "n_var": N_VAR,
            "preset": "hytnas",
            "seeds": args.seeds,
            "median_seconds": MEDIAN_SECONDS,
            "slow_to_fast": SLOW_TO_FAST,
            "evaluation_marks": EVALUATION_MARKS,
            "time_marks": TIME_MARKS,
        },
    }
    for problem in args.problems:
        results[problem] = run_problem(problem, args.workers, args.modes, args.seeds)
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["wall_seconds"] = time.perf_counter() - started
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    print(
        f"\n{'problem':7} {'W':>2} {'mode':12} {'sim. s':>8} {'x sooner':>9} {'idle %':>7} "
        f"{'HV final':>15} {'HV - sync':>16} {'CPU s/ask':>9}"
    )
    for problem in args.problems:
        for workers in args.workers:
            for mode, s in results[problem][f"W{workers}"].items():
                sooner = s.get("sooner_than_sync", {"mean": 1.0, "std": 0.0})
                diff = s.get("hv_final_minus_sync", {"mean": 0.0, "std": 0.0})
                print(
                    f"{problem:7} {workers:2d} {mode:12} {s['simulated_seconds']['mean']:8.0f} "
                    f"{sooner['mean']:5.2f}±{sooner['std']:.2f} {100 * s['idle_fraction']['mean']:7.1f} "
                    f"{s['hv_final']['mean']:.4f}±{s['hv_final']['std']:.4f} "
                    f"{diff['mean']:+.4f}±{diff['std']:.4f} {s['cpu_seconds_per_proposal']['mean']:9.3f}"
                )


if __name__ == "__main__":
    main()
