"""The default stack times one network at a time: one consumer of the evaluations queue, whatever the workers.

``runstack`` plans each worker's queues (``worker_queues``); the stack test starts the real command
with three workers on ports of its own and asks Redis which queues its workers listen to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import rq
from django.core.management import CommandError, call_command

from hytnas_web.lib.embedded_redis import port_is_open
from hytnas_web.studies.management.commands.runstack import worker_queues
from tests.web.test_runstack import ROOT, descendants, leftovers, processes, stack_database, wait_until

PORTS = range(18200, 18300)
"""Ports this module's servers may use."""


def test_one_worker_measures_and_the_others_run_iterations() -> None:
    assert worker_queues(1) == [("iterations", "evaluations", "default")]  # one worker does everything
    assert worker_queues(3) == [("evaluations",), ("iterations", "default"), ("iterations", "default")]
    assert worker_queues(3, measuring_workers=2) == [("evaluations",)] * 2 + [("iterations", "default")]
    assert worker_queues(2, measuring_workers=0) == [("iterations", "default")] * 2  # measured elsewhere
    assert worker_queues(0, measuring_workers=0) == []
    with pytest.raises(ValueError, match="cannot exceed"):
        worker_queues(2, measuring_workers=3)


def test_runstack_refuses_more_measuring_workers_than_workers() -> None:
    with pytest.raises(CommandError, match=r"--measuring-workers \(4\) cannot exceed --workers \(3\)"):
        call_command("runstack", workers=3, measuring_workers=4, setup_only=True)


def free_ports(count: int) -> list[int]:
    """``count`` ports of ``PORTS`` nobody listens on."""
    found = [port for port in PORTS if not port_is_open("127.0.0.1", port)][:count]
    assert len(found) == count, f"fewer than {count} free ports in {PORTS}"
    return found


@contextlib.contextmanager
def stack_of_three_workers(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    """``runstack --workers 3`` with its own embedded Redis; yields (process, log, Redis port)."""
    web_port, redis_port = free_ports(2)
    dropped = {"REDIS_URL", "HYTNAS_WORKERS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update(
        DATABASE_URL=database_url, HYTNAS_REDIS_PORT=str(redis_port), HYTNAS_ADMIN_PASSWORD="a test pw 7"
    )
    log = tmp_path / "runstack.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--workers", "3", "--port", str(web_port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    sessions: set[int] = set()
    try:
        wait_until(lambda: "Running:" in log.read_text(), "the stack to start", log.read_text, timeout=180)
        children = descendants(process.pid)
        sessions = {session for pid, (_, session, _) in processes().items() if pid in children}
        yield process, log, redis_port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers(sessions):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ROOT / "var" / "redis" / str(redis_port), ignore_errors=True)


@pytest.mark.timeout(300)
def test_the_default_stack_gives_the_evaluations_queue_exactly_one_consumer(tmp_path: Path) -> None:
    with stack_database(tmp_path) as database_url, stack_of_three_workers(tmp_path, database_url) as started:
        _, log, redis_port = started
        connection = redis.Redis(port=redis_port)

        def consumers() -> list[list[str]]:
            return [worker.queue_names() for worker in rq.Worker.all(connection=connection)]

        wait_until(
            lambda: len(consumers()) == 3, lambda: f"3 registered workers, not {consumers()}", log.read_text
        )
        listening = consumers()
        assert sum("evaluations" in queues for queues in listening) == 1, listening
        assert sum("iterations" in queues for queues in listening) == 2, listening
        assert "3 RQ worker(s) (1 measuring on the evaluations queue)" in log.read_text()
