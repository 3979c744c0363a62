"""The Python client's ask + tell round trip on loopback, against a real gunicorn process.

A throwaway environment as in ``remote_api.py`` (its helpers are reused): a temporary SQLite
database (migrated), Redis db 6 at 127.0.0.1:6379 when it answers (else an embedded server), an
``external`` study on the HyT-NAS space with two declared objectives and one metric whose initial
design is large enough for every round, started and its iteration 0 run in this process so the
whole design waits, a worker token, and ``gunicorn hytnas_web.wsgi:application`` (1 worker, 2
threads) on 127.0.0.1. This process then plays the user's script with ``search_engine.client``:
``studio.ask(1)`` then ``studio.tell(item, objectives={...}, metrics={...})``, ``--n`` times after
a few untimed rounds. A round trip includes what the client does around the two requests: decoding
the claim, starting and stopping the lease-keeping thread, checking the values.

Reported beside the medians: the machine's load average at the start and end, and CPU seconds per
round trip of this (client) process and of the server's processes (read from ``/proc``), since the
machine is shared.

    .venv/bin/python benchmarks/client_roundtrip.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.remote_api import stats_ms  # noqa: E402
from benchmarks.server_setup import descendants_cpu_seconds, load, redis_for_run, web_server  # noqa: E402
from search_engine.client import Studio  # noqa: E402
from search_engine.worker.client import ApiClient  # noqa: E402

SEED = 0
WARMUP_ROUNDS = 5
TARGET_MEDIAN_MS = 20.0


def external_study(n_init: int) -> str:
    """A started external study whose ``n_init`` evaluations wait; returns a token secret for it."""
    from django.contrib.auth.models import User

    from hytnas_web.studies import services
    from search_engine.config import StudyConfig

    objectives = [
        {"name": "accuracy", "direction": "max", "unit": "%"},
        {"name": "latency", "direction": "min", "unit": "ms"},
    ]
    config = {
        "space": {"name": "hytnas", "params": {}},
        "evaluator": {"name": "external", "params": {"objectives": objectives, "metrics": ["params"]}},
        "objectives": objectives,
        "sampler": {"name": "lhs", "params": {}},
        "surrogate": {"name": "xgboost", "params": {"n_estimators": 20}},
        "acquisition": {"name": "identity", "params": {}},
        "solver": {"name": "nsga2", "params": {"pop_size": 12, "n_gen": 3}},
        "selection": {"name": "hvi", "params": {}},
        "n_init": n_init,
        "batch_size": 16,
        "budget": n_init,
        "seed": SEED,
    }
    owner = User.objects.create_user("bench", password="unused-password-for-benchmark")
    study = services.save_study(owner, "client round trip benchmark", StudyConfig.from_dict(config))
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="bench")
    return services.issue_token(owner, "benchmark", study).secret


def client_round_trip(studio: Studio, i: int) -> tuple[float, float]:
    """One ask(1) + tell: milliseconds of each."""
    start = time.perf_counter()
    (item,) = studio.ask(1)
    asked = time.perf_counter()
    studio.tell(item, objectives={"accuracy": 70.0 + i % 10, "latency": 5.0 + i % 7}, metrics={"params": i})
    return (asked - start) * 1e3, (time.perf_counter() - asked) * 1e3


def bare_round_trip(api: ApiClient, device: dict[str, Any], i: int) -> float:
    """One claim of 1 + report with the worker's ApiClient: milliseconds."""
    start = time.perf_counter()
    claim = api.claim(1, 600, device, None, evaluator="external")
    report = {
        "lease": claim["lease"]["id"],
        "status": "done",
        "objectives": [70.0, 5.0],
        "metrics": {"params": i},
    }
    api.report(claim["evaluations"][0]["id"], {**report, "device": device})
    return (time.perf_counter() - start) * 1e3


def round_trips(studio: Studio, n: int) -> dict[str, list[float]]:
    """``n`` timed client rounds (ask, tell, both), each followed by one bare round."""
    timings: dict[str, list[float]] = {"ask_ms": [], "tell_ms": [], "round_trip_ms": [], "bare_ms": []}
    for i in range(n):
        ask_ms, tell_ms = client_round_trip(studio, i)
        timings["ask_ms"].append(ask_ms)
        timings["tell_ms"].append(tell_ms)
        timings["round_trip_ms"].append(ask_ms + tell_ms)
        timings["bare_ms"].append(bare_round_trip(studio.api, studio.device, i))
    return timings


def run(n: int, workdir: Path) -> dict[str, Any]:
    """Set the environment up, measure, and return the report."""
    report: dict[str, Any] = {"load_start": load()}
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "hytnas_web.settings"
    with redis_for_run(workdir) as redis_url:
        os.environ["REDIS_URL"] = redis_url
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        secret = external_study(2 * (WARMUP_ROUNDS + n) + 1)
        with (
            web_server(dict(os.environ), workdir / "gunicorn.log") as server,
            Studio(server, secret) as studio,
        ):
            studio.api.whoami()
            round_trips(studio, WARMUP_ROUNDS)
            client_cpu, server_cpu = time.process_time(), descendants_cpu_seconds(os.getpid())
            wall = time.perf_counter()
            timings = round_trips(studio, n)
            wall = time.perf_counter() - wall
            client_cpu = time.process_time() - client_cpu
            server_cpu = descendants_cpu_seconds(os.getpid()) - server_cpu
    report["load_end"] = load()
    report["stats"] = {name: stats_ms(values) for name, values in timings.items()}
    rounds = 2 * n  # client and bare rounds alike: CPU per round trip of either kind
    report["cpu_ms_per_round_trip"] = {
        "client": client_cpu / rounds * 1e3,
        "server": server_cpu / rounds * 1e3,
    }
    medians = {name: stats["median"] for name, stats in report["stats"].items()}
    report["client_over_bare"] = medians["round_trip_ms"] / medians["bare_ms"]
    report["wall_s"] = wall
    report["settings"] = {
        "n": n,
        "warmup_rounds": WARMUP_ROUNDS,
        "database": "sqlite (WAL), temporary file",
        "redis": "shared 127.0.0.1:6379 db 6" if redis_url.endswith("/6") else "embedded",
        "server": "gunicorn, 1 worker, 2 threads, 127.0.0.1",
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="timed ask + tell round trips")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "client_roundtrip.json"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hytnas-client-bench-"))
    try:
        report = run(args.n, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'part':<16}{'median ms':>10}{'p90 ms':>9}")
    parts = [("ask_ms", "ask(1)"), ("tell_ms", "tell"), ("round_trip_ms", "ask + tell"), ("bare_ms", "bare")]
    for name, label in parts:
        stats = report["stats"][name]
        print(f"{label:<16}{stats['median']:>10.2f}{stats['p90']:>9.2f}")
    cpu = report["cpu_ms_per_round_trip"]
    print(f"CPU per round trip: client {cpu['client']:.2f} ms, server {cpu['server']:.2f} ms")
    print(f"client ask + tell / bare claim + report: x{report['client_over_bare']:.2f}")
    print(f"load average: start {report['load_start']}, end {report['load_end']}")
    median = report["stats"]["round_trip_ms"]["median"]
    verdict = "under" if median < TARGET_MEDIAN_MS else "over"
    print(f"median round trip {median:.2f} ms: {verdict} the {TARGET_MEDIAN_MS:.0f} ms target")


if __name__ == "__main__":
    main()
