"""A throwaway studio for benchmarks through real server processes: database, Redis, web server, RQ worker.

Everything lives in a temporary directory the caller makes: a SQLite database (migrated), Redis db 6
at 127.0.0.1:6379 when it answers (else, or when asked, an embedded server of this run's own),
``gunicorn hytnas_web.wsgi:application`` (1 worker, 2 threads) on 127.0.0.1 and, when a benchmark
needs iterations proposed, ``manage.py rqworker`` processes on the same database and Redis. Beside
the timings the machine's load average and the CPU seconds of the server's processes (read from
``/proc``) are recorded, since the machine is shared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hytnas_web.lib.embedded_redis import EmbeddedRedis, free_port, port_is_open  # noqa: E402

SHARED_REDIS = "redis://127.0.0.1:6379/6"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(value, 2) for value in os.getloadavg()]


def descendants_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of every live descendant of process ``root`` (Linux ``/proc``)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    total, frontier = 0, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        total += sum(ticks[pid] for pid in children)
        frontier += children
    return total / CLOCK_TICKS


@contextmanager
def redis_for_run(directory: Path, shared_if_up: bool = True) -> Iterator[str]:
    """The shared Redis db 6 when it answers (and ``shared_if_up``), else an embedded server.

    The shared database is emptied at the end only if it was empty at the start (nobody else's keys).
    A benchmark whose RQ workers must take only its own jobs asks for an embedded server.
    """
    shared, empty_before = None, False
    if shared_if_up and port_is_open("127.0.0.1", 6379):
        try:
            shared = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=2)
            empty_before = shared.dbsize() == 0
        except redis.RedisError:
            shared = None
    if shared is not None:
        try:
            yield SHARED_REDIS
        finally:
            if empty_before:
                shared.flushdb()
            else:
                print(f"note: {SHARED_REDIS} held keys before the run; left as it is", flush=True)
        return
    server = EmbeddedRedis(free_port(), directory / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def django_for_run(directory: Path, shared_redis: bool = True) -> Iterator[str]:
    """This process set up on a temporary SQLite database (migrated) and Redis; yields the Redis URL."""
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "hytnas_web.settings"
    with redis_for_run(directory, shared_redis) as redis_url:
        os.environ["REDIS_URL"] = redis_url
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        yield redis_url


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A gunicorn process serving the app (1 worker, 2 threads); yields its address, stops it after."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "hytnas_web.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while not port_is_open("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@contextmanager
def managed(env: dict[str, str], log: Path, *arguments: str) -> Iterator[None]:
    """A ``manage.py`` process (``rqworker iterations ...``, ``reconcile --loop``) while the block runs."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        _stop(process)


RQ_WORKER = ("rqworker", "--worker-class", "hytnas_web.studies.worker.ReconcilingSimpleWorker")
"""The RQ worker ``runstack`` runs; the queues to listen to follow."""
