"""The README's run command: ``manage.py runstack`` starts the product, lets the admin in, stops cleanly.

It runs from the checkout on a temporary SQLite file with its own embedded Redis on a free port, so
it needs no service and touches no data of a ``make run`` on the same machine.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse

from hytnas_web.lib.embedded_redis import free_port, port_is_open

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "a test admin password 7"


def processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every live process (zombies excluded)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def descendants(pid: int) -> set[int]:
    table = processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def leftovers(sessions: set[int]) -> set[int]:
    """Processes still running in the sessions the stack's children opened."""
    return {pid for pid, (_, session) in processes().items() if session in sessions}


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

    def children(self) -> dict[str, int]:
        """Command line -> pid of each direct child."""
        return {
            Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "): pid
            for pid, (parent, _) in processes().items()
            if parent == self.process.pid
        }


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``runstack --workers 1`` on a temporary SQLite, an embedded Redis on a free port and a known admin.

    Yields once the web port answers; afterwards kills whatever a failed test left running.
    """
    web_port, redis_port = free_port(), free_port()
    while redis_port == web_port:
        redis_port = free_port()
    dropped = {"REDIS_URL", "HYTNAS_ADMIN_USER", "HYTNAS_WORKERS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        HYTNAS_REDIS_PORT=str(redis_port),
        HYTNAS_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    log = tmp_path / "runstack.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--workers", "1", "--port", str(web_port)],
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
        running.sessions = {session for pid, (_, session) in processes().items() if pid in children}
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers(running.sessions):
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


def test_a_dying_worker_stops_the_whole_stack_with_status_1(stack: Stack) -> None:
    deadline = time.monotonic() + 20
    while "Press Ctrl-C" not in stack.output():
        assert time.monotonic() < deadline, stack.output()
        time.sleep(0.1)
    worker = next(pid for command, pid in stack.children().items() if " rqworker " in command)

    os.kill(worker, signal.SIGKILL)

    assert stack.process.wait(timeout=30) == 1, stack.output()
    output = stack.output()
    assert "worker-1 exited unexpectedly" in output
    assert not port_is_open("127.0.0.1", stack.web_port)
    assert not port_is_open("127.0.0.1", stack.redis_port)
    assert leftovers(stack.sessions) == set(), output
