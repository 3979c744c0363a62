"""A real stack whose services a test can take away: its own Redis, RQ workers, the reconciler and gunicorn.

The Redis is an embedded server on a free port, started for the test alone, so it can be stopped,
restarted empty or restarted with its data without touching the machine's Redis or another test's.
Workers are the production ``ReconcilingWorker`` (a forked work horse per job) run through
``manage.py rqworker``; the reconciler is ``manage.py reconcile --loop``; the web server is gunicorn.
Each process logs to a file under the test's temporary folder, named in the failure messages.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from hytnas_web.lib.embedded_redis import EmbeddedRedis, free_port, port_is_open
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.conftest import ROOT, database_env

WORKER_CLASS = "hytnas_web.studies.worker.ReconcilingWorker"
STALE_SECONDS = 5
RECONCILE_EVERY = 1


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, stack: Stack | None = None) -> None:
    """Poll ``predicate`` every 0.2 s until it holds; fail naming ``what`` (and the stack's logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    where = f"; process logs in {stack.log_dir}" if stack is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{where}")


@dataclass
class Stack:
    """The processes of one test's stack and the Redis they share."""

    root: Path
    redis_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    server: EmbeddedRedis | None = None
    web_url: str = ""
    _redis_generation: int = 0

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **database_env(),
            "REDIS_URL": self.redis_url,
            "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
            "HYTNAS_HEARTBEAT_STALE_SECONDS": str(STALE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }

    # Redis -------------------------------------------------------------------------------------------

    def start_redis(self, empty: bool = False) -> None:
        """Start the Redis server; ``empty`` starts it on a fresh data folder (everything it held is gone)."""
        if empty:
            self._redis_generation += 1
        directory = self.root / f"redis-{self._redis_generation}"
        self.server = EmbeddedRedis(self.redis_port, directory).start()

    def stop_redis(self) -> None:
        """Shut Redis down (it writes its append-only file first); clients then get refused connections."""
        assert self.server is not None
        self.server.stop()
        wait_for(lambda: not port_is_open("127.0.0.1", self.redis_port), 10, "Redis to stop listening")

    # Processes ---------------------------------------------------------------------------------------

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        queues = ("iterations", "evaluations", "default")
        return self.start(
            name, [sys.executable, "manage.py", "rqworker", *queues, "--worker-class", WORKER_CLASS]
        )

    def start_reconciler(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "manage.py", "reconcile", "--loop", "--every", str(RECONCILE_EVERY)]
        return self.start("reconciler", command)

    def start_web(self) -> None:
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "hytnas_web.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
        process = self.start("web", command)
        deadline = time.monotonic() + 60
        while not port_is_open("127.0.0.1", port):
            assert process.poll() is None, f"the web server exited; see {self.log_dir / 'web.log'}"
            assert time.monotonic() < deadline, "the web server did not start within 60 s"
            time.sleep(0.1)
        self.web_url = f"http://127.0.0.1:{port}"

    def start_all(self, workers: int = 2) -> None:
        """Redis, ``workers`` RQ workers, the reconciler and the web server."""
        self.start_redis()
        for number in range(1, workers + 1):
            self.start_worker(f"worker-{number}")
        self.start_reconciler()
        self.start_web()

    def dead(self) -> list[str]:
        """Processes that exited although nobody stopped them, with their status."""
        return [f"{name} ({p.returncode})" for name, p in self.processes.items() if p.poll() is not None]

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.kill()
        process.wait(10)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if self.server is not None:
            self.server.stop()
        for folder in self.root.glob("redis-*"):
            shutil.rmtree(folder, ignore_errors=True)

    # Queue state -------------------------------------------------------------------------------------

    def queues_idle(self) -> bool:
        """No job waiting in any queue and every live worker idle."""
        from rq import Worker

        connection = self.redis()
        if any(connection.llen(f"rq:queue:{name}") for name in ("iterations", "evaluations", "default")):
            return False
        return all(worker.get_state() == "idle" for worker in Worker.all(connection=connection))


class WebSession:
    """A signed-in browser session against the stack's web server (cookies and CSRF like a browser)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def _csrf(self) -> str:
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.status, response.url, response.read().decode()

    def post(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """POST a form (following the redirect, as a browser does): status, final address, page."""
        form = {"csrfmiddlewaretoken": self._csrf(), **(data or {})}
        request = urllib.request.Request(self.base_url + path, data=urllib.parse.urlencode(form).encode())
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode(errors="replace")

    def login(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        status, url, _ = self.post("/accounts/login/", {"username": username, "password": password})
        assert status == 200 and "/accounts/login/" not in url, f"signing in failed: {status} {url}"


def page_messages(page: str) -> list[str]:
    """The flash messages shown on a page."""
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<li class="message[^"]*"[^>]*>(.*?)</li>', page)
    ]


def assert_finished_cleanly(study: Study) -> None:
    """COMPLETED, exactly its budget of unique measured evaluations, iterations 0..n all done."""
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED, (study.status, study.error)
    evaluations = Evaluation.objects.filter(study=study)
    assert evaluations.count() == study.budget
    assert evaluations.values("key").distinct().count() == study.budget
    assert set(evaluations.values_list("status", flat=True)) == {Evaluation.Status.DONE}
    iterations = list(study.iterations.order_by("index").values_list("index", "status"))
    assert [index for index, _ in iterations] == list(range(len(iterations)))
    assert {status for _, status in iterations} == {Iteration.Status.DONE}


def nothing_left_running() -> bool:
    """No study, iteration or evaluation is still in flight anywhere in the database."""
    return not (
        Study.objects.filter(status=Study.Status.RUNNING).exists()
        or Iteration.objects.exclude(status=Iteration.Status.DONE).exists()
        or Evaluation.objects.filter(status=Evaluation.Status.PENDING).exists()
    )


def done_count(study: Study) -> int:
    return Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count()


def completed(study: Study) -> Callable[[], bool]:
    return lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED


__all__ = [
    "Stack",
    "WebSession",
    "assert_finished_cleanly",
    "completed",
    "done_count",
    "nothing_left_running",
    "page_messages",
    "wait_for",
]
