"""Keeping N architectures in flight against synchronous batches, through the real client and a real server.

Set-up (``server_setup``): a temporary SQLite database, an embedded Redis of this run's own, a
gunicorn process, one RQ worker on the iterations queue and the reconciler loop, as ``runstack``
runs them. Per run, an ``external`` study whose client computes the benchmark function itself: ZDT1
(6 variables, 2 objectives) and DTLZ2 (6 variables, 3 objectives), the components of
``async_pool.py`` (the ``hytnas`` preset, its NSGA-II cut to ``--pop-size`` x ``--n-gen`` so that a
proposal takes well under an evaluation on a shared 2-core machine, as it does against real training
runs) at a budget of ``--budget`` with ``--n-init`` initial architectures. W = 4 and 8 workers are
the threads of ``search_engine.client.optimize``; each architecture takes a log-normal time (median
``--median-seconds``, 95th/5th percentile ratio 10, as the simulated pool), drawn in the order
evaluations start from a generator seeded per seed, so both modes meet the same sequence of times.
Synchronous: batches of W. Asynchronous: keep W in flight (``believer``). Reported per run: wall
time from the start to the budget's last result (the server's ``finished_at``), worker idle fraction
(1 - time inside the user's function / (W x that wall time)), hypervolume (fraction of the true
front's, at the problem's reference point) after n evaluations and at fractions of the synchronous
run's time, the number of proposals, and beside the wall time the load average and the CPU seconds
of this process and of the server's processes. Each run is checked: exactly the budget of distinct
architectures, the study completed, never more than W in flight (each proposal's recorded figures).
Results go to benchmarks/results/async_server.json.

    .venv/bin/python benchmarks/async_server.py --seeds 3
    .venv/bin/python benchmarks/async_server.py --problems zdt1 --workers 4 --seeds 1 --budget 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.async_pool import PROBLEMS, TIME_MARKS, mode_config  # noqa: E402
from benchmarks.server_setup import (  # noqa: E402
    RQ_WORKER,
    descendants_cpu_seconds,
    django_for_run,
    load,
    managed,
    web_server,
)
from search_engine.client import optimize  # noqa: E402
from search_engine.config import ComponentSpec, StudyConfig  # noqa: E402
from search_engine.evaluators.benchmark import BenchmarkEvaluator  # noqa: E402
from search_engine.metrics.hypervolume import hypervolume  # noqa: E402
from search_engine.objectives import to_minimisation  # noqa: E402
from search_engine.runner import SimulatedPool  # noqa: E402

MODES = ("sync", "async")
SLOW_TO_FAST = 10.0
POLL_SECONDS = 0.2
"""A client thread with nothing to do asks again after this long (every ask costs the server CPU)."""
EVALUATION_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
"""Fractions of the budget at which hypervolume is compared."""


def run_configs(
    problem: str, workers: int, mode: str, seed: int, args: argparse.Namespace
) -> tuple[Any, Any]:
    """The benchmark's configuration (the client's function) and the external study's (same components)."""
    engine = mode_config(problem, workers, mode, seed).with_changes(
        budget=args.budget,
        n_init=args.n_init,
        solver=ComponentSpec("nsga2", {"pop_size": args.pop_size, "n_gen": args.n_gen}),
    )
    study = engine.to_dict()
    study["evaluator"] = {"name": "external", "params": {"objectives": study["objectives"], "metrics": []}}
    return engine.validate(), StudyConfig.from_dict(study).validate()


class TimedFunction:
    """The user's function: the benchmark's objectives after a log-normal time; counts its busy seconds."""

    def __init__(self, engine: StudyConfig, workers: int, median_seconds: float, seed: int) -> None:
        evaluator = engine.build_evaluator()
        assert isinstance(evaluator, BenchmarkEvaluator)
        self.evaluator = evaluator
        self.names = [o.name for o in engine.objectives]
        self.median_seconds = median_seconds
        self.sigma = SimulatedPool(workers, median_seconds, SLOW_TO_FAST, seed).sigma
        self.rng = np.random.default_rng(seed)
        self.lock = threading.Lock()
        self.busy_seconds = 0.0

    def __call__(self, architecture: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        with self.lock:  # drawn in the order evaluations start
            seconds = self.median_seconds * float(np.exp(self.sigma * self.rng.standard_normal()))
        [result] = self.evaluator.evaluate([architecture])
        assert result.objectives is not None, result.error
        time.sleep(max(0.0, seconds - (time.perf_counter() - started)))
        with self.lock:
            self.busy_seconds += time.perf_counter() - started
        return dict(zip(self.names, result.objectives, strict=True))


def run_one(
    problem: str, workers: int, mode: str, seed: int, server: str, owner: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """One study from start to completion; its figures, checked."""
    from django.utils import timezone

    from hytnas_web.studies import services

    engine, config = run_configs(problem, workers, mode, seed, args)
    study = services.save_study(owner, f"{problem} W{workers} {mode} seed {seed}", config)
    secret = services.issue_token(owner, study.name, study).secret
    function = TimedFunction(engine, workers, args.median_seconds, seed)
    load_start = load()
    client_cpu, server_cpu = time.process_time(), descendants_cpu_seconds(os.getpid())
    wall, started_at = time.perf_counter(), timezone.now()
    services.start_study(study)
    summary = optimize(
        function, url=server, token=secret, study=study.pk, workers=workers, poll_seconds=POLL_SECONDS
    )
    wall = time.perf_counter() - wall
    client_cpu = time.process_time() - client_cpu
    server_cpu = descendants_cpu_seconds(os.getpid()) - server_cpu
    rows, proposals = _checked(study, workers, args.budget)
    assert (summary.done, summary.failed) == (args.budget, 0), summary
    seconds = [(finished - started_at).total_seconds() for finished, _ in rows]
    to_budget = seconds[-1]
    return {
        "seconds_to_budget": to_budget,
        "idle_fraction": 1.0 - function.busy_seconds / (workers * to_budget),
        "n_proposals": len(proposals),
        "proposal_latency_seconds": float(
            np.mean([(p.finished_at - p.created_at).total_seconds() for p in proposals])
        ),
        "proposal_compute_seconds": float(np.mean([p.timings.get("total", 0.0) for p in proposals[1:]])),
        "wall_seconds": wall,
        "client_cpu_seconds": client_cpu,
        "server_cpu_seconds": server_cpu,
        "load_start": load_start,
        "load_end": load(),
        "trace": list(
            zip(seconds, range(1, len(rows) + 1), _hv_trace(engine, [y for _, y in rows]), strict=True)
        ),
    }


def _checked(study: Any, workers: int, budget: int) -> tuple[list[tuple[Any, list[float]]], list[Any]]:
    """The study's results in the order they came, after checking the run did what it must."""
    from hytnas_web.studies.models import Evaluation, Study

    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED, (study.status, study.error)
    evaluations = list(study.evaluations.order_by("finished_at", "id"))
    assert len(evaluations) == budget == len({e.key for e in evaluations}), "exactly the budget, distinct"
    assert all(e.status == Evaluation.Status.DONE for e in evaluations)
    proposals = list(study.iterations.order_by("index"))
    for proposal in proposals[1:]:
        figures = proposal.diagnostics
        if "in_flight_before" in figures:
            assert figures["in_flight_before"] + figures["proposed"] <= workers, figures
    return [(e.finished_at, e.objectives) for e in evaluations], proposals


def _hv_trace(engine: StudyConfig, measured: list[list[float]]) -> list[float]:
    """Fraction of the true front's hypervolume held after each result, in the order they came."""
    Y_min = to_minimisation(np.array(measured, dtype=np.float64), engine.objectives)  # (budget, n_objectives)
    ref = np.asarray(engine.ref_point, dtype=np.float64)
    true_hv = _true_hv(engine)
    return [float(hypervolume(Y_min[: n + 1], ref)) / true_hv for n in range(Y_min.shape[0])]


def _true_hv(engine: StudyConfig) -> float:
    evaluator = engine.build_evaluator()
    assert isinstance(evaluator, BenchmarkEvaluator)
    return float(hypervolume(evaluator.true_front(), np.asarray(engine.ref_point, dtype=np.float64)))


def hv_at_time(trace: list[tuple[float, int, float]], seconds: float) -> float:
    """Hypervolume fraction held ``seconds`` after the start."""
    held = [hv for at, _, hv in trace if at <= seconds + 1e-9]
    return held[-1] if held else 0.0


def summarise(runs: list[dict[str, Any]], sync: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    def stat(values: list[float]) -> dict[str, float]:
        return {"mean": float(np.mean(values)), "std": float(np.std(values))}

    marks = [max(1, round(f * budget)) for f in EVALUATION_FRACTIONS]
    return {
        "seconds_to_budget": stat([r["seconds_to_budget"] for r in runs]),
        "sooner_than_sync": stat(
            [s["seconds_to_budget"] / r["seconds_to_budget"] for r, s in zip(runs, sync, strict=True)]
        ),
        "idle_fraction": stat([r["idle_fraction"] for r in runs]),
        "n_proposals": stat([r["n_proposals"] for r in runs]),
        "server_cpu_seconds": stat([r["server_cpu_seconds"] for r in runs]),
        "client_cpu_seconds": stat([r["client_cpu_seconds"] for r in runs]),
        "evaluation_marks": marks,
        "hv_by_evaluations": np.mean([[r["trace"][n - 1][2] for n in marks] for r in runs], axis=0).tolist(),
        "hv_by_time": np.mean(
            [
                [hv_at_time(r["trace"], f * s["seconds_to_budget"]) for f in TIME_MARKS]
                for r, s in zip(runs, sync, strict=True)
            ],
            axis=0,
        ).tolist(),
        "hv_final_minus_sync": stat(
            [r["trace"][-1][2] - s["trace"][-1][2] for r, s in zip(runs, sync, strict=True)]
        ),
        "runs": runs,
    }


def run_line(problem: str, workers: int, mode: str, seed: int, r: dict[str, Any]) -> str:
    """One run's figures on one line, printed as it ends."""
    return (
        f"{problem:6} W={workers} {mode:6} seed {seed}: {r['seconds_to_budget']:6.1f} s to the budget, "
        f"idle {100 * r['idle_fraction']:4.1f} %, HV {r['trace'][-1][2]:.4f}, {r['n_proposals']} proposals, "
        f"proposal {r['proposal_latency_seconds']:.2f} s ({r['proposal_compute_seconds']:.2f} s computing), "
        f"server CPU {r['server_cpu_seconds']:.1f} s, load {r['load_end'][0]}"
    )


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start the studio, run every (problem, W, seed, mode), and return the figures."""
    results: dict[str, Any] = {"load_start": load()}
    with django_for_run(workdir, shared_redis=False):
        from django.contrib.auth.models import User

        owner = User.objects.create_user("bench", password="unused-password-for-benchmark")
        env = dict(os.environ)
        with (
            web_server(env, workdir / "gunicorn.log") as server,
            managed(env, workdir / "rqworker.log", *RQ_WORKER, "iterations"),
            managed(env, workdir / "reconcile.log", "reconcile", "--loop"),
        ):
            for problem in args.problems:
                results[problem] = {}
                for workers in args.workers:
                    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
                    for seed in range(args.seeds):
                        for mode in MODES:
                            r = run_one(problem, workers, mode, seed, server, owner, args)
                            runs[mode].append(r)
                            print(run_line(problem, workers, mode, seed, r), flush=True)
                    results[problem][f"W{workers}"] = {
                        mode: summarise(runs[mode], runs["sync"], args.budget) for mode in MODES
                    }
    results["load_end"] = load()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--workers", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=32)
    parser.add_argument("--n-init", type=int, default=8)
    parser.add_argument("--median-seconds", type=float, default=4.0)
    parser.add_argument("--pop-size", type=int, default=40, help="NSGA-II population (the preset: 100)")
    parser.add_argument("--n-gen", type=int, default=10, help="NSGA-II generations (the preset: 25)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "async_server.json"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hytnas-async-bench-"))
    started = time.perf_counter()
    try:
        results = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["protocol"] = {
        "budget": args.budget,
        "n_init": args.n_init,
        "median_seconds": args.median_seconds,
        "poll_seconds": POLL_SECONDS,
        "slow_to_fast": SLOW_TO_FAST,
        "seeds": args.seeds,
        "preset": "hytnas",
        "solver": {"name": "nsga2", "pop_size": args.pop_size, "n_gen": args.n_gen},
        "pending": "believer",
        "time_marks": TIME_MARKS,
        "server": "gunicorn (1 worker, 2 threads), 1 RQ worker (iterations), reconciler; SQLite, own Redis",
    }
    results["wall_seconds"] = time.perf_counter() - started
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(
        f"\n{'problem':7} {'W':>2} {'mode':6} {'s to budget':>11} {'x sooner':>10} {'idle %':>7} "
        f"{'HV - sync':>16} {'proposals':>9} {'server CPU s':>12}"
    )
    for problem in args.problems:
        for workers in args.workers:
            for mode, s in results[problem][f"W{workers}"].items():
                sooner, diff = s["sooner_than_sync"], s["hv_final_minus_sync"]
                print(
                    f"{problem:7} {workers:2d} {mode:6} {s['seconds_to_budget']['mean']:11.1f} "
                    f"{sooner['mean']:5.2f}±{sooner['std']:.2f} {100 * s['idle_fraction']['mean']:7.1f} "
                    f"{diff['mean']:+.4f}±{diff['std']:.4f} {s['n_proposals']['mean']:9.1f} "
                    f"{s['server_cpu_seconds']['mean']:12.1f}"
                )
    print(f"load average: start {results['load_start']}, end {results['load_end']}")


if __name__ == "__main__":
    main()
