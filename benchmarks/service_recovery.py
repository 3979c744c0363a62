"""Seconds from a service's return to a running study's next evaluation, on a real stack.

A throwaway stack on this machine, run as ``make run`` runs it but with its own pieces: an embedded
Redis on a free port (so it can be stopped and restarted), two RQ workers (``ReconcilingWorker``,
forking, as runstack starts them) and ``manage.py reconcile --loop`` at the product's default
interval (``HYTNAS_RECONCILE_EVERY_SECONDS``, 30 s) and heartbeat threshold (60 s). The study is a
ZDT1 benchmark with 0.2 s per evaluation (batches of 10, a large budget), so the stack is always
busy when a service goes away.

- **Redis restarted empty** (SQLite database): Redis is shut down mid-iteration, the stack is left
  until the work in hand is finished and nothing moves (at least ``--outage`` seconds), then Redis
  is started again on a fresh data folder: every queued job and registry is gone.
- **PostgreSQL connections terminated** (a temporary database on the local server):
  ``pg_terminate_backend`` on every connection of the database mid-iteration, as a restart or a
  failover does to its clients; the server itself stays up, so it "returns" at once.

Measured: from the moment the service is back (Redis accepting connections again; the terminate
statement returning) to the ``finished_at`` of the study's first evaluation recorded after it,
``--repeats`` times each. An evaluation itself takes 0.2 s, and after a Redis outage the next one
belongs to a new iteration (optimizer fit and solve first), so the floor is about 0.2-0.5 s.
Reported beside the wall time: load average at start and end, and the CPU seconds the stack's
processes used (from /proc). The machine is shared; figures are medians of the repeats.

    .venv/bin/python benchmarks/service_recovery.py [--repeats 3] [--outage 10] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hytnas_web.lib.embedded_redis import EmbeddedRedis, free_port, port_is_open  # noqa: E402

POSTGRES_SERVER = os.environ.get("HYTNAS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
WORKER_CLASS = "hytnas_web.studies.worker.ReconcilingWorker"
EVALUATION_DELAY = 0.2


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class Stack:
    """Workers and the reconciler on one database and a Redis this script can stop."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.generation = 0
        self.redis: EmbeddedRedis | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.port}/0",
            "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start_redis(self, empty: bool = False) -> None:
        self.generation += empty
        self.redis = EmbeddedRedis(self.port, self.workdir / f"redis-{self.generation}").start()

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()
        while port_is_open("127.0.0.1", self.port):
            time.sleep(0.05)

    def start(self, workers: int = 2) -> None:
        manage = [sys.executable, str(ROOT / "manage.py")]
        commands = [[*manage, "reconcile", "--loop"]]
        commands += [
            [*manage, "rqworker", "iterations", "evaluations", "default", "--worker-class", WORKER_CLASS]
        ] * workers
        for number, command in enumerate(commands):
            log = (self.workdir / f"process-{number}.log").open("ab")
            self.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            )

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.redis is not None:
            self.redis.stop()


def setup_django(database_url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "hytnas_web.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def start_study(budget: int) -> Any:
    from django.contrib.auth.models import User

    from hytnas_web.studies import services
    from search_engine.config import ComponentSpec, StudyConfig
    from search_engine.setups import study_config

    owner, _ = User.objects.get_or_create(username="bench")
    config = study_config("zdt1", "hytnas", budget=budget, n_init=10, batch_size=10, n_var=4)
    config = config.with_changes(solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}))
    data = config.to_dict()
    data["evaluator"] = {
        "name": "benchmark",
        "params": {"problem": "zdt1", "n_var": 4, "delay": EVALUATION_DELAY},
    }
    study = services.save_study(owner, f"recovery {time.time()}", StudyConfig.from_dict(data))
    services.start_study(study)
    return study


def done(study: Any) -> int:
    from hytnas_web.studies.models import Evaluation

    return Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count()


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def next_evaluation_after(study: Any, moment: float, timeout: float = 300) -> float:
    """Seconds from ``moment`` (time.time()) to the first evaluation of the study finished after it."""
    from hytnas_web.studies.models import Evaluation

    after = datetime.fromtimestamp(moment, tz=UTC)
    found: list[datetime] = []

    def recorded() -> bool:
        first = (
            Evaluation.objects.filter(study=study, finished_at__gt=after)
            .order_by("finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if first is not None:
            found.append(first)
        return first is not None

    wait(recorded, timeout, "the study's next evaluation")
    return found[0].timestamp() - moment


def still(study: Any, seconds: float) -> bool:
    """True when no evaluation finished and no iteration ran for ``seconds``: the study waits for work."""
    from hytnas_web.studies.models import Iteration

    before = done(study)
    time.sleep(seconds)
    running = Iteration.objects.filter(study=study, status=Iteration.Status.RUNNING).exists()
    return done(study) == before and not running


def recovery_figures(
    samples: list[float], start_load: list[float], cpu: float, began: float
) -> dict[str, Any]:
    """What both scenarios report: the delays to the next evaluation, with load and CPU beside them."""
    return {
        "seconds_to_next_evaluation": [round(v, 3) for v in samples],
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
        "load_start": start_load,
        "load_end": load(),
        "stack_cpu_seconds": round(cpu, 1),
        "wall_seconds": round(time.perf_counter() - began, 1),
    }


def redis_scenario(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = f"sqlite:///{workdir}/bench.sqlite3"
    stack = Stack(workdir, database_url)
    stack.start_redis()
    setup_django(database_url, stack.env["REDIS_URL"])
    stack.start()
    samples: list[float] = []
    outages: list[float] = []
    start_load, start_cpu, began = load(), stack.cpu(), time.perf_counter()
    try:
        study = start_study(budget=10 + 10 * 4 * args.repeats + 40)
        for repeat in range(args.repeats):
            reached = done(study) + 13
            wait(lambda reached=reached: done(study) >= reached, 300, "the study to be mid-iteration")
            stack.stop_redis()
            stopped = time.time()
            wait(lambda: still(study, 1.0), 120, "the work in hand to be finished")
            time.sleep(max(0.0, args.outage - (time.time() - stopped)))
            stack.start_redis(empty=True)
            back = time.time()
            samples.append(next_evaluation_after(study, back))
            outages.append(back - stopped)
            print(f"redis restarted empty, repeat {repeat + 1}: next evaluation after {samples[-1]:.2f} s")
    finally:
        cpu = stack.cpu() - start_cpu
        stack.close()
    return {
        "database": "sqlite",
        "outage_seconds": [round(v, 2) for v in outages],
        **recovery_figures(samples, start_load, cpu, began),
    }


def postgres_scenario(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import psycopg

    name = f"hytnas_bench_recovery_{os.getpid()}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"{POSTGRES_SERVER}/{name}"
    stack = Stack(workdir, database_url)
    stack.start_redis()
    samples: list[float] = []
    terminated: list[int] = []
    try:
        setup_django(database_url, stack.env["REDIS_URL"])
        from django.db import connection

        stack.start()
        start_load, start_cpu, began = load(), stack.cpu(), time.perf_counter()
        study = start_study(budget=10 + 20 * args.repeats + 40)
        for repeat in range(args.repeats):
            reached = done(study) + 13
            wait(lambda reached=reached: done(study) >= reached, 300, "the study to be mid-iteration")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                terminated.append(int(cursor.fetchone()[0]))
            back = time.time()
            samples.append(next_evaluation_after(study, back))
            print(
                f"postgres connections terminated, repeat {repeat + 1}: "
                f"next evaluation after {samples[-1]:.2f} s"
            )
        cpu = stack.cpu() - start_cpu
    finally:
        stack.close()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "database": "postgresql",
        "connections_terminated": terminated,
        **recovery_figures(samples, start_load, cpu, began),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="outages per scenario")
    parser.add_argument("--outage", type=float, default=10.0, help="least seconds Redis stays away")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL scenario")
    parser.add_argument("--scenario", choices=["redis", "postgres"], default=None, help="run only this one")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "service_recovery.json"))
    args = parser.parse_args()
    if args.scenario is None:
        # Django is set up once per process: each scenario runs in a child of its own.
        scenarios = ["redis"] if args.no_postgres else ["redis", "postgres"]
        results = {}
        for scenario in scenarios:
            out = Path(tempfile.mkdtemp(prefix="hytnas-recovery-")) / "part.json"
            command = [sys.executable, __file__, "--scenario", scenario, "--out", str(out)]
            command += ["--repeats", str(args.repeats), "--outage", str(args.outage)]
            subprocess.run(command, check=True)
            results[scenario] = json.loads(out.read_text())[scenario]
            shutil.rmtree(out.parent, ignore_errors=True)
        report = {
            "scenarios": results,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": {
                "reconcile_every_s": 30,
                "heartbeat_stale_s": 60,
                "evaluation_delay_s": EVALUATION_DELAY,
            },
        }
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        return
    workdir = Path(tempfile.mkdtemp(prefix=f"hytnas-recovery-{args.scenario}-"))
    try:
        run = redis_scenario if args.scenario == "redis" else postgres_scenario
        Path(args.out).write_text(json.dumps({args.scenario: run(args, workdir)}, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
