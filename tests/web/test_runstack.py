"""The README's run command: ``manage.py runstack`` starts the product, lets the admin in, stops cleanly.

It runs from the checkout on a temporary SQLite file with its own embedded Redis on a free port, so
it needs no service and touches no data of a ``make run`` on the same machine. Processes are killed
as an operator or a crash would (SIGKILL); the stack must restart them and keep serving, give up
only on a crash loop, and leave nothing running however it ends.
"""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import rq
from django.urls import reverse

from hytnas_web.lib.embedded_redis import EmbeddedRedis, free_port, port_is_open

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "a test admin password 7"


def processes() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, session id, start time) of every live process (zombies excluded)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[3]), int(fields[19]))
    return table


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def descendants(pid: int) -> set[int]:
    table = processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, (parent, *_) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def leftovers(sessions: set[int], known: frozenset[tuple[int, int]] = frozenset()) -> set[int]:
    """Processes still running in the sessions the stack's children opened, or among ``known``.

    ``known`` holds (pid, start time) pairs, so a recycled pid does not count.
    """
    return {
        pid
        for pid, (_, session, started) in processes().items()
        if session in sessions or (pid, started) in known
    }


def wait_until(
    condition: Callable[[], bool],
    what: str | Callable[[], str],
    output: Callable[[], str],
    timeout: float = 60,
) -> None:
    """Poll ``condition`` for up to ``timeout`` seconds; the failure names what was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            described = what if isinstance(what, str) else what()
            raise AssertionError(f"waited {timeout:.0f} s for {described}:\n{output()[-6000:]}")
        time.sleep(0.1)


def page_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=20) as response:
        return int(response.status)


def log_in(base: str) -> tuple[str, str]:
    """Sign in as the admin over HTTP like a browser; returns the landing page's path and HTML."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = base + reverse("login")
    with opener.open(login, timeout=20) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, page[:2000]
    form = {"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token[1]}
    request = urllib.request.Request(login, urllib.parse.urlencode(form).encode(), method="POST")
    with opener.open(request, timeout=20) as response:
        return urllib.parse.urlsplit(response.geturl()).path, response.read().decode()


@dataclass
class Stack:
    """A running ``manage.py runstack`` of this test, its ports and the sessions its children opened."""

    process: subprocess.Popen[bytes]
    log: Path
    web_port: int
    redis_port: int
    sessions: set[int] = field(default_factory=set)

    def output(self) -> str:
        return self.log.read_text()

    def supervised(self) -> dict[str, int]:
        """redis, reconciler, worker, web -> pid of the process running it (under its guard)."""
        table = processes()
        guards = {pid for pid, (parent, *_) in table.items() if parent == self.process.pid}
        found = {}
        for pid, (parent, *_) in table.items():
            if parent in guards:
                command = command_line(pid)
                for name, marker in MARKERS.items():
                    if marker in command:
                        found[name] = pid
        return found

    def tree(self) -> frozenset[tuple[int, int]]:
        """(pid, start time) of every process below runstack now."""
        table = processes()
        return frozenset((pid, table[pid][2]) for pid in descendants(self.process.pid) if pid in table)

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        wait_until(lambda: text in self.output(), f"{text!r} in runstack's output", self.output, timeout)

    def restarted(self, name: str, old_pid: int, timeout: float = 90) -> int:
        """The pid of ``name``'s new process, once runstack has started one."""

        def back() -> bool:
            return self.supervised().get(name, old_pid) != old_pid

        wait_until(back, f"a new {name} process after {old_pid} was killed", self.output, timeout)
        return self.supervised()[name]


MARKERS = {
    "redis": "redis-server",
    "reconciler": " reconcile --loop",
    "worker": " rqworker ",
    "web": "gunicorn",
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``runstack --workers 1`` on a fresh database, an embedded Redis on a free port and a known admin.

    The database is a temporary SQLite file, or a database of its own on the PostgreSQL server when
    the test run uses one (``tests/run_on_postgres.py``). Yields once the web port answers; afterwards
    kills whatever a failed test left running.
    """
    with stack_database(tmp_path) as database_url, running_stack(tmp_path, database_url) as started:
        yield started


@pytest.fixture
def fragile_stack(tmp_path: Path) -> Iterator[Stack]:
    """The same stack, giving up after three exits of one process within five minutes."""
    options = ("--crash-limit", "3", "--crash-window", "300")
    with stack_database(tmp_path) as database_url, running_stack(tmp_path, database_url, *options) as started:
        yield started


@contextlib.contextmanager
def stack_database(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database for one runstack, like the test run's own (SQLite or PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    import psycopg

    server, name = url.rsplit("/", 1)[0], f"hytnas_stack_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_stack(
    tmp_path: Path, database_url: str, *options: str, redis_url: str | None = None
) -> Iterator[Stack]:
    """runstack with ``options``; its own embedded Redis unless ``redis_url`` names one."""
    web_port, redis_port = free_port(), free_port()
    while redis_port == web_port:
        redis_port = free_port()
    if redis_url is not None:
        redis_port = int(redis.connection.parse_url(redis_url)["port"])
    dropped = {"REDIS_URL", "HYTNAS_ADMIN_USER", "HYTNAS_WORKERS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(
        DATABASE_URL=database_url,
        HYTNAS_REDIS_PORT=str(redis_port),
        HYTNAS_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    log = tmp_path / "runstack.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--workers", "1", "--port", str(web_port), *options],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    running = Stack(process, log, web_port, redis_port)
    try:
        deadline = time.monotonic() + 60
        while not port_is_open("127.0.0.1", web_port):
            assert process.poll() is None, f"runstack exited with {process.returncode}:\n{running.output()}"
            assert time.monotonic() < deadline, f"no web server after 60 s:\n{running.output()}"
            time.sleep(0.2)
        children = descendants(process.pid)
        running.sessions = {session for pid, (_, session, _) in processes().items() if pid in children}
        known = running.tree()
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers(running.sessions, known):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ROOT / "var" / "redis" / str(redis_port), ignore_errors=True)
        with contextlib.suppress(OSError):  # only when empty: a real stack may keep its files there
            (ROOT / "var" / "redis").rmdir()


def test_runstack_serves_a_signed_in_admin_and_stops_everything_on_ctrl_c(stack: Stack) -> None:
    assert port_is_open("127.0.0.1", stack.redis_port)
    # Each child runs in a session of its own, so a terminal's Ctrl-C reaches runstack alone.
    assert len(stack.sessions) >= 4 and os.getsid(0) not in stack.sessions

    base = f"http://127.0.0.1:{stack.web_port}"
    path, page = log_in(base)
    assert path == reverse("studies-list"), page[:2000]
    assert f'action="{reverse("logout")}"' in page  # signed in: the page offers to sign out
    with urllib.request.urlopen(base + "/static/css/app.css", timeout=20) as response:  # whitenoise
        assert response.status == 200

    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0, stack.output()

    output = stack.output()
    assert f"Browse to http://127.0.0.1:{stack.web_port}/" in output
    assert "Stopping: web, worker-1, reconciler, redis" in output
    assert "Stopped cleanly." in output
    assert not port_is_open("127.0.0.1", stack.web_port)
    assert not port_is_open("127.0.0.1", stack.redis_port)
    assert leftovers(stack.sessions) == set(), output


def test_killed_processes_are_restarted_and_the_stack_keeps_serving(stack: Stack) -> None:
    stack.wait_for_output("Press Ctrl-C")
    base = f"http://127.0.0.1:{stack.web_port}"
    login = base + reverse("login")
    before = stack.supervised()
    assert set(before) == set(MARKERS), before
    redis_seen = (command_line(before["redis"]), os.readlink(f"/proc/{before['redis']}/cwd"))

    for number, name in enumerate(["worker", "reconciler", "redis", "web"], start=1):
        os.kill(stack.supervised()[name], signal.SIGKILL)
        label = "worker-1" if name == "worker" else name
        stack.wait_for_output(f"{label} exited (killed by SIGKILL)")
        stack.restarted(name, before[name])
        assert stack.output().count("exited (killed by SIGKILL)") == number
        if name == "redis":
            listening = functools.partial(port_is_open, "127.0.0.1", stack.redis_port)
            wait_until(listening, "Redis to listen again", stack.output)
        if name != "web":  # the web server kept answering meanwhile
            assert page_status(login) == 200
        assert stack.process.poll() is None, stack.output()

    # The same Redis again: same port, same folder (its append-only file survives the restart).
    redis_pid = stack.supervised()["redis"]
    assert (command_line(redis_pid), os.readlink(f"/proc/{redis_pid}/cwd")) == redis_seen
    wait_until(lambda: port_is_open("127.0.0.1", stack.web_port), "the restarted web server", stack.output)
    path, page = log_in(base)
    assert path == reverse("studies-list"), page[:2000]
    # The restarted worker takes jobs from the restarted Redis.
    queue = rq.Queue("default", connection=redis.Redis(port=stack.redis_port))
    job = queue.enqueue("os.getpid")
    finished = "finished"
    wait_until(lambda: job.get_status(refresh=True) == finished, "a job run by the new worker", stack.output)

    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=60) == 0, stack.output()
    assert "Stopped cleanly." in stack.output()


def test_a_crash_loop_stops_the_stack_with_status_1_naming_the_process(fragile_stack: Stack) -> None:
    stack = fragile_stack
    stack.wait_for_output("Press Ctrl-C")
    known = stack.tree()
    # Another program takes Redis's port as soon as Redis dies: every restart fails at once.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        deadline = time.monotonic() + 60
        while True:
            if (pid := stack.supervised().get("redis")) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                squatter.bind(("127.0.0.1", stack.redis_port))
                break
            except OSError:
                assert time.monotonic() < deadline, "waited 60 s to take the Redis port"
                time.sleep(0.02)
        squatter.listen()

        assert stack.process.wait(timeout=120) == 1, stack.output()
    finally:
        squatter.close()
    output = stack.output()
    assert "crash loop: redis exited 3 times within 300 s (last: " in output, output[-6000:]
    assert "redis exited (status 1)" in output  # a restart that could not listen
    assert not port_is_open("127.0.0.1", stack.web_port)
    assert leftovers(stack.sessions, known) == set(), output[-6000:]


@pytest.mark.parametrize("ending", ["sigint-then-sigkill", "sigkill"])
def test_nothing_outlives_a_killed_runstack(stack: Stack, ending: str) -> None:
    stack.wait_for_output("Press Ctrl-C")
    # A job that takes minutes, so that the worker has a work horse (a process group of its own).
    queue = rq.Queue("default", connection=redis.Redis(port=stack.redis_port))
    queue.enqueue("time.sleep", 300, job_timeout=600)
    worker = stack.supervised()["worker"]

    def horses() -> set[int]:
        """The worker's children in a process group of their own (a forked horse joins one at once)."""
        own = set()
        for child in descendants(worker):
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(child) != os.getpgid(worker):
                    own.add(child)
        return own

    wait_until(
        lambda: bool(horses()), "the worker to fork a work horse in a process group of its own", stack.output
    )
    known = stack.tree()
    assert len(known) >= 9, known  # four guards, Redis, reconciler, worker and horse, gunicorn and its worker

    if ending == "sigint-then-sigkill":
        # As a terminal or a process manager does: Ctrl-C, then SIGKILL while runstack is still stopping
        # (the worker waits for its work horse's job).
        stack.process.send_signal(signal.SIGINT)
        stack.wait_for_output("Stopping: ")
        time.sleep(3)
        assert stack.process.poll() is None, "runstack stopped before it could be killed"
    stack.process.kill()
    stack.process.wait()

    def all_gone() -> bool:
        return not leftovers(stack.sessions, known)

    def left() -> str:
        return f"every process of the stack to end; still running: {leftovers(stack.sessions, known)}"

    wait_until(all_gone, left, stack.output)
    assert not port_is_open("127.0.0.1", stack.redis_port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a next runstack could listen there
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", stack.redis_port))


def test_an_outage_of_an_external_redis_leaves_the_stack_serving(tmp_path: Path) -> None:
    port, folder = free_port(), tmp_path / "redis"
    server = EmbeddedRedis(port, folder).start()
    try:
        with (
            stack_database(tmp_path) as database_url,
            running_stack(tmp_path, database_url, redis_url=server.url) as stack,
        ):
            stack.wait_for_output("Press Ctrl-C")
            login = f"http://127.0.0.1:{stack.web_port}" + reverse("login")

            server.stop()  # Redis away for about twelve seconds, as in a restart of the service
            for _ in range(12):
                assert page_status(login) == 200
                assert stack.process.poll() is None, stack.output()
                time.sleep(1)
            server = EmbeddedRedis(port, folder).start()

            queue = rq.Queue("default", connection=redis.Redis(port=port))
            job = queue.enqueue("os.getpid")
            finished = "finished"
            wait_until(
                lambda: job.get_status(refresh=True) == finished,
                "a job run once Redis was back",
                stack.output,
                timeout=180,
            )
            assert page_status(login) == 200
            stack.process.send_signal(signal.SIGINT)
            assert stack.process.wait(timeout=60) == 0, stack.output()
    finally:
        server.stop()
