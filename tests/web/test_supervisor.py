"""The Supervisor behind ``manage.py runstack``: start named children, notice a death, stop in reverse."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from hytnas_web.lib.supervisor import Supervisor

# A child that waits to be stopped and notes its name in a file when SIGTERM arrives.
STOPPABLE = """
import signal, sys, time
def stop(*_):
    with open(sys.argv[2], "a") as log:
        log.write(sys.argv[1] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
time.sleep(60)
"""

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def stoppable(name: str, log: Path) -> list[str]:
    return [sys.executable, "-c", STOPPABLE, name, str(log)]


def test_children_stop_in_reverse_order_of_start(tmp_path: Path) -> None:
    log = tmp_path / "stopped.txt"
    supervisor = Supervisor(cwd=tmp_path)
    first = supervisor.start("first", stoppable("first", log))
    second = supervisor.start("second", stoppable("second", log))
    time.sleep(0.5)  # let both install their handler
    assert first.running() and second.running()

    assert supervisor.wait(timeout=0.3) is None  # nobody died, nobody asked to stop

    supervisor.stop()
    assert log.read_text().split() == ["second", "first"]
    assert first.process.returncode == 0 and second.process.returncode == 0


def test_a_child_that_exits_by_itself_is_reported_and_the_rest_stop(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path)
    sleeper = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    quits = "import time; time.sleep(0.3); raise SystemExit(3)"
    quitter = supervisor.start("quitter", [sys.executable, "-c", quits])

    died = supervisor.wait(timeout=20)

    assert died is quitter
    assert died.process.returncode == 3
    supervisor.stop()
    assert not sleeper.running()


def test_a_child_ignoring_sigterm_is_killed_after_its_timeout(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path, escalation_grace=0.2)
    stubborn = supervisor.start("stubborn", [sys.executable, "-c", STUBBORN], stop_timeout=0.5)
    time.sleep(0.5)

    started = time.monotonic()
    supervisor.stop()

    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_processes_a_child_forks_are_stopped_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    forking = (
        "import subprocess, sys, time;"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid));"
        "time.sleep(60)"
    )
    supervisor = Supervisor(cwd=tmp_path)
    supervisor.start("parent", [sys.executable, "-c", forking])
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())

    supervisor.stop()

    deadline = time.monotonic() + 5
    while process_exists(grandchild):
        assert time.monotonic() < deadline, "the grandchild outlived the stop"
        time.sleep(0.05)


def test_sigterm_to_the_supervisor_requests_a_stop_instead_of_killing_it(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path)
    child = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    with supervisor.handling_signals():
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        died = supervisor.wait(timeout=20)
        assert died is None and supervisor.stop_requested
        supervisor.stop()
    assert not child.running()
    assert signal.getsignal(signal.SIGTERM) != supervisor.request_stop


def process_exists(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
