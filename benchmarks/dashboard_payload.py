"""Server time and payload size of the study dashboard, for studies of 1,000 / 10,000 / 100,000 evaluations.

Builds each study directly in a temporary SQLite database (bulk_create; HyT-NAS architectures of
23 variables, accuracy/latency objectives, per-stage latency, one iteration per 100 evaluations),
then times with Django's request factory, median of ``--repeats`` runs:

- ``page``: the dashboard page (``studies-detail``), every figure embedded;
- ``data_full``: the JSON endpoint without a version (what the page's data is worth as JSON);
- ``poll_304``: a poll with the current version (nothing changed);
- ``poll_one_new``: a poll after one more evaluation finished.

The baseline, timed in the same run, is a naive endpoint: every evaluation as JSON
(``json.dumps(list(study.evaluations.values()))``). Targets at 10,000 evaluations: page under
300 ms and 2 MB, incremental poll under 50 ms; 100,000 must render (points far from the front are
sampled, the front never).

    .venv/bin/python benchmarks/dashboard_payload.py [--sizes 1000 10000 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_DIR = tempfile.mkdtemp(prefix="hytnas-dashboard-bench-")
os.environ["DATABASE_URL"] = f"sqlite:///{DB_DIR}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hytnas_web.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402

from hytnas_web.studies import services, views_dashboard  # noqa: E402
from hytnas_web.studies.models import Evaluation, Iteration, Study  # noqa: E402
from search_engine.config import StudyConfig  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402

BATCH = 100
OBJECTIVES = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]


def build_study(owner: User, n: int, seed: int = 0) -> Study:
    """A completed study of ``n`` evaluations with a realistic accuracy/latency trade-off."""
    rng = np.random.default_rng(seed)
    space = HyTNASSpace()
    X = rng.random((n, space.n_vars))
    architectures = space.decode(X)
    size = rng.random(n)
    accuracy = 60 + 25 * np.sqrt(size) + rng.normal(0, 2.0, n)
    latency = 400 + 3000 * size + rng.normal(0, 150, n)
    backbone = latency * rng.uniform(0.55, 0.85, n)
    neck = (latency - backbone) * rng.uniform(0.3, 0.7, n)
    study = Study.objects.create(
        owner=owner,
        name=f"benchmark {n}",
        status=Study.Status.COMPLETED,
        config=StudyConfig.from_dict(
            {
                "space": {"name": "hytnas", "params": {}},
                "evaluator": {"name": "table", "params": {}},
                "objectives": OBJECTIVES,
                "ref_point": [50.0, 3500.0],
                "n_init": BATCH,
                "batch_size": BATCH,
                "budget": n,
            }
        ).to_dict(),
        version=n // BATCH * 2,
    )
    iterations = Iteration.objects.bulk_create(
        Iteration(
            study=study,
            index=k,
            seed=k,
            status=Iteration.Status.DONE,
            hypervolume=1000.0 * (1 - 0.5 ** (k + 1)),
            n_evaluations=min(n, (k + 1) * BATCH),
            timings={"fit": 0.05, "solve": 0.1, "select": 0.002, "evaluate": 5.0},
            fidelity=[
                {
                    "objective": "accuracy",
                    "n": BATCH,
                    "kendall_tau": 0.5,
                    "spearman_rho": 0.6,
                    "rmse": 2.0,
                    "mae": 1.5,
                },
                {
                    "objective": "latency",
                    "n": BATCH,
                    "kendall_tau": 0.7,
                    "spearman_rho": 0.8,
                    "rmse": 90.0,
                    "mae": 70.0,
                },
            ],
            version=2 * k + 1,
        )
        for k in range(max(1, n // BATCH))
    )
    rows = []
    for i in range(n):
        iteration = iterations[min(i // BATCH, len(iterations) - 1)]
        failed = i % 97 == 13
        rows.append(
            Evaluation(
                study=study,
                iteration=iteration,
                position=i % BATCH,
                key=f"k{i}",
                x=[round(float(v), 6) for v in X[i]],
                architecture=architectures[i],
                source=Evaluation.Source.INITIAL if iteration.index == 0 else Evaluation.Source.OPTIMIZER,
                status=Evaluation.Status.FAILED if failed else Evaluation.Status.DONE,
                objectives=None if failed else [round(float(accuracy[i]), 4), round(float(latency[i]), 3)],
                stage_latency=None
                if failed
                else {
                    "backbone": float(backbone[i]),
                    "neck": float(neck[i]),
                    "head": float(latency[i] - backbone[i] - neck[i]),
                },
                predicted_mean=[float(accuracy[i]) + 1.0, float(latency[i]) - 50.0],
                error="evaluation raised RuntimeError" if failed else "",
                seconds=5.0,
                version=2 * iteration.index + 2,
            )
        )
    Evaluation.objects.bulk_create(rows, batch_size=2000)
    return study


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median milliseconds of ``fn`` and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def add_one(study: Study, k: int) -> None:
    """One more finished evaluation, written the way the jobs write it."""
    last = study.iterations.order_by("-index").first()
    Evaluation.objects.create(
        study=study,
        iteration=last,
        key=f"extra{k}",
        x=[0.5] * 23,
        architecture=HyTNASSpace().decode(np.full((1, 23), 0.5))[0],
        source=Evaluation.Source.OPTIMIZER,
        status=Evaluation.Status.DONE,
        objectives=[86.0 + k * 0.01, 900.0],
        stage_latency={"backbone": 600.0, "neck": 200.0, "head": 100.0},
        version=services.bump_version(study.pk),
    )


def measure(owner: User, n: int, repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    study = build_study(owner, n)
    build_seconds = time.perf_counter() - start
    factory = RequestFactory()

    def get(path: str, **params: str) -> Any:
        request = factory.get(path, params)
        request.user = owner
        return request

    detail = reverse("studies-detail", args=[study.pk])
    data_url = reverse("studies-dashboard-data", args=[study.pk])

    def page() -> Any:
        study.refresh_from_db()
        return views_dashboard.study_detail(get(detail), study.pk)

    def data(since: str | None = None) -> Any:
        return views_dashboard.study_dashboard_data(
            get(data_url, **({"since": since} if since else {})), study.pk
        )

    page()  # warm caches (templates, imports)
    page_ms, page_response = timed(page, repeats)
    full_ms, full_response = timed(data, repeats)
    version = json.loads(full_response.content)["version"]
    poll_304_ms, response_304 = timed(lambda: data(version), repeats)
    assert response_304.status_code == 304
    poll_times, poll_sizes = [], []
    for k in range(repeats):
        add_one(study, k)
        ms, response = timed(lambda v=version: data(v), 1)
        assert response.status_code == 200
        changes = json.loads(response.content)
        assert len(changes["pareto"]["points"]["ids"]) == 1
        version = changes["version"]
        poll_times.append(ms)
        poll_sizes.append(len(response.content))
    baseline_ms, baseline = timed(
        lambda: json.dumps(list(study.evaluations.values()), default=str).encode(), repeats
    )
    figure = json.loads(full_response.content)["figures"]["pareto"]
    return {
        "evaluations": n,
        "build_seconds": round(build_seconds, 1),
        "page_ms": round(page_ms, 1),
        "page_bytes": len(page_response.content),
        "data_full_ms": round(full_ms, 1),
        "data_full_bytes": len(full_response.content),
        "poll_304_ms": round(poll_304_ms, 2),
        "poll_one_new_ms": round(statistics.median(poll_times), 1),
        "poll_one_new_bytes": int(statistics.median(poll_sizes)),
        "pareto_points_shown": len(figure["data"][0]["x"]),
        "pareto_front_size": len(figure["data"][1]["x"]),
        "baseline_dump_ms": round(baseline_ms, 1),
        "baseline_dump_bytes": len(baseline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", password="unused-password-for-benchmark")
    results = []
    for n in args.sizes:
        row = measure(owner, n, args.repeats)
        results.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results" / "dashboard_payload.json"
    out.write_text(json.dumps({"repeats": args.repeats, "results": results}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
