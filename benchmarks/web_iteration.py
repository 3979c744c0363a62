"""Seconds per iteration of a HyT-NAS table study run by the web app's iteration job, against the
engine's own loop (what the command line runs) on the same configuration, in the same run.

The web side is ``services.run_iteration`` called in this process on a temporary SQLite database,
exactly as an RQ worker calls it (the next iteration's enqueue goes to a Redis of the run's own and
is never picked up); its parts are timed apart: the proposal (the engine's own fit / solve / select
timings), the evaluator's own seconds, and the rest (claim, store, write, hypervolume, fidelity).
The table evaluator is built once by the first iteration and kept by the process, as a worker keeps
it (``services.evaluator_cache``); what a build costs is measured once apart, and the number of
fits during the web run is recorded. The engine side is ``Optimizer.ask`` / ``evaluate`` / ``tell``
with one evaluator built once. Both use the study's seed and the same initial design, so they
propose the same architectures. Needs the HyT-NAS tables (../shared/data/hytnas); exits cleanly without.

    .venv/bin/python benchmarks/web_iteration.py --iterations 4
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server_setup import django_for_run, load  # noqa: E402
from search_engine.config import StudyConfig  # noqa: E402
from search_engine.optimizer import Optimizer  # noqa: E402
from search_engine.runner import objective_rows  # noqa: E402
from search_engine.setups import HYTNAS_TABLE, study_config  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "hytnas"


def table_config(data: Path, n_init: int, batch_size: int, iterations: int) -> StudyConfig:
    """The HyT-NAS table study with its tables inlined as text, as the study form stores them."""
    config = study_config(
        HYTNAS_TABLE,
        "hytnas",
        data_dir=data,
        n_init=n_init,
        batch_size=batch_size,
        budget=n_init + batch_size * iterations,
    )
    params = dict(config.evaluator.params)
    params["tables"] = [
        {"name": Path(t["path"]).name, "text": Path(t["path"]).read_text(), "objectives": t["objectives"]}
        for t in params["tables"]
    ]
    data_dict = config.to_dict()
    data_dict["evaluator"] = {"name": "table", "params": params}
    return StudyConfig.from_dict(data_dict).validate()


def engine_loop(config: StudyConfig, iterations: int) -> list[dict[str, float]]:
    """Wall and CPU seconds of each engine iteration (ask, evaluate, tell), evaluator built once."""
    evaluator = config.build_evaluator()
    optimizer = Optimizer(config)
    rows = []
    for i in range(iterations + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        proposal = optimizer.ask(config.n_init if i == 0 else config.batch_size)
        results = evaluator.evaluate(proposal.architectures)
        optimizer.tell(proposal.X, objective_rows(results, config.n_objectives))
        rows.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    return rows


def web_loop(config: StudyConfig, iterations: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Wall and CPU seconds of each ``run_iteration``, with its parts; and what building costs."""
    from django.contrib.auth.models import User

    from hytnas_web.studies import services
    from hytnas_web.studies.models import Iteration
    from hytnas_web.studies.services.evaluator_cache import forget_evaluators
    from search_engine.evaluators.table import TableEvaluator

    owner = User.objects.create_user("bench", password="unused-password-for-benchmark")
    study = services.save_study(owner, "web iteration benchmark", config)
    services.start_study(study)
    build = time.perf_counter()
    services.study_config(study).build_evaluator()  # what each iteration paid before evaluators were kept
    build = time.perf_counter() - build
    forget_evaluators()
    fits_before = TableEvaluator.fits
    rows = []
    for i in range(iterations + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = services.run_iteration(study.pk, i, job_id="bench")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        iteration = Iteration.objects.get(study=study, index=i)
        proposal = sum(v for k, v in iteration.timings.items() if k in ("fit", "solve", "select", "pending"))
        measured = float(iteration.timings.get("evaluate", 0.0))  # the evaluator's own seconds, summed
        rows.append(
            {
                "wall": wall,
                "cpu": cpu,
                "proposal": proposal,
                "evaluator_seconds": measured,
                "rest": wall - proposal - measured,
            }
        )
        print(f"web iteration {i}: {outcome} ({wall:.2f} s)")
    return rows, {"build_evaluator_s": build, "table_fits": TableEvaluator.fits - fits_before}


def summary(rows: list[dict[str, Any]], key: str) -> float:
    """Median over the optimizer's iterations (the initial design, iteration 0, left out)."""
    return float(np.median([r[key] for r in rows[1:]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the HyT-NAS tables")
    parser.add_argument(
        "--iterations", type=int, default=4, help="optimizer iterations after the initial design"
    )
    parser.add_argument("--n-init", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "web_iteration.json"))
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "models_acc_pr.csv").is_file():
        print(f"skipped: the HyT-NAS tables are not in {data}")
        return
    report: dict[str, Any] = {"load_start": load()}
    workdir = Path(tempfile.mkdtemp(prefix="hytnas-web-iteration-"))
    try:
        with django_for_run(workdir, shared_redis=False):
            config = table_config(data, args.n_init, args.batch_size, args.iterations)
            report["engine"] = engine_loop(config, args.iterations)
            report["web"], report["evaluator"] = web_loop(config, args.iterations)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_end"] = load()
    engine, web = summary(report["engine"], "wall"), summary(report["web"], "wall")
    report["median_wall_s"] = {"engine": engine, "web": web, "ratio": web / engine}
    engine_cpu, web_cpu = summary(report["engine"], "cpu"), summary(report["web"], "cpu")
    report["median_cpu_s"] = {"engine": engine_cpu, "web": web_cpu, "ratio": web_cpu / engine_cpu}
    parts = ("proposal", "evaluator_seconds", "rest")
    report["median_web_parts_s"] = {k: summary(report["web"], k) for k in parts}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"median seconds per optimizer iteration: engine {engine:.2f}, web {web:.2f} (x{web / engine:.2f})")
    print(  # CPU seconds: what a loaded, shared machine distorts least
        f"median CPU seconds per optimizer iteration: engine {engine_cpu:.2f}, web {web_cpu:.2f}"
        f" (x{web_cpu / engine_cpu:.2f})"
    )
    print("web parts (median):", {k: round(v, 3) for k, v in report["median_web_parts_s"].items()})
    evaluator = report["evaluator"]
    print(
        f"table evaluator: one build {evaluator['build_evaluator_s']:.2f} s;"
        f" fitted {evaluator['table_fits']} time(s) in {args.iterations + 1} web iterations"
    )
    print(f"load average: start {report['load_start']}, end {report['load_end']}")


if __name__ == "__main__":
    main()
