"""The Supervisor behind ``manage.py runstack``: start named children, restart them, stop in reverse.

Children are real processes. Restarts use short delays so the tests stay quick; no test asserts
how long anything took, only what happened (restarted, reported, stopped, nothing left running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from hytnas_web.lib.supervisor import RestartPolicy, Supervisor

ROOT = Path(__file__).resolve().parents[2]
QUICK = RestartPolicy(first_delay=0.1, max_delay=0.4, healthy_after=600, crash_limit=100, crash_window=600)

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

    assert supervisor.watch(timeout=0.3) is None  # nobody died, nobody asked to stop

    supervisor.stop()
    assert log.read_text().split() == ["second", "first"]
    assert first.process.returncode == 0 and second.process.returncode == 0


def test_a_child_that_exits_is_restarted_with_a_doubling_delay_and_announced(tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    quits = f"open({str(runs)!r}, 'a').write('ran\\n'); raise SystemExit(3)"
    said: list[str] = []
    supervisor = Supervisor(cwd=tmp_path, policy=QUICK, announce=said.append)
    sleeper = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    supervisor.start("quitter", [sys.executable, "-c", quits])

    def ran_four_times() -> bool:
        return runs.exists() and len(runs.read_text().split()) >= 4

    assert supervisor.watch(until=ran_four_times, timeout=120) is None, said
    assert ran_four_times(), f"waited 120 s for the quitter's fourth run: {said}"
    assert sleeper.running()  # the rest of the stack was left alone
    exits = [line for line in said if line.startswith("quitter exited (status 3)")]
    assert len(exits) >= 3, said
    assert "restarting it in 0.1 s" in exits[0] and "restarting it in 0.2 s" in exits[1], said
    assert "restarting it in 0.4 s" in exits[2], said  # doubled up to max_delay
    assert sum(line.startswith("Restarted quitter (pid ") for line in said) >= 3, said
    supervisor.stop()
    assert not sleeper.running()


def test_a_child_that_always_fails_at_once_stops_everything_as_a_crash_loop(tmp_path: Path) -> None:
    policy = RestartPolicy(first_delay=0.05, max_delay=0.1, crash_limit=3, crash_window=60)
    said: list[str] = []
    supervisor = Supervisor(cwd=tmp_path, policy=policy, announce=said.append)
    sleeper = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    quitter = supervisor.start("quitter", [sys.executable, "-c", "raise SystemExit(3)"])

    failure = supervisor.watch(timeout=120)

    assert failure is not None, f"no crash loop noticed in 120 s: {said}"
    assert failure.child is quitter and failure.exits == 3
    expected = "crash loop: quitter exited 3 times within 60 s (last: status 3); stopping everything"
    assert str(failure) == expected
    assert len([line for line in said if line.startswith("quitter exited")]) == 2  # then the third one
    supervisor.stop()
    assert not sleeper.running() and not quitter.running()


def test_a_killed_child_is_restarted_and_a_healthy_run_resets_its_delay(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    writes_pid = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    policy = RestartPolicy(first_delay=0.1, max_delay=10, healthy_after=1.0, crash_limit=10, crash_window=600)
    said: list[str] = []
    supervisor = Supervisor(cwd=tmp_path, policy=policy, announce=said.append)
    supervisor.start("sleeper", [sys.executable, "-c", writes_pid])

    for _ in range(2):
        first = wait_for_pid(pid_file, supervisor)
        # Run for longer than healthy_after, so that each restart waits first_delay again.
        assert supervisor.watch(timeout=1.5) is None
        os.kill(first, signal.SIGKILL)
        assert wait_for_pid(pid_file, supervisor, other_than=first) != first

    exits = [line for line in said if line.startswith("sleeper exited")]
    assert len(exits) == 2, said
    assert all("(killed by SIGKILL)" in line and "restarting it in 0.1 s" in line for line in exits), said
    supervisor.stop()


def test_a_child_that_cannot_be_restarted_stops_everything(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path, policy=QUICK)
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(4)"])
    supervisor.adopt("adopted", process)  # no spawn: nothing to restart it with

    failure = supervisor.watch(timeout=60)

    assert failure is not None and str(failure) == "adopted exited (status 4) and cannot be restarted"
    supervisor.stop()


def test_a_child_ignoring_sigterm_is_killed_after_its_timeout(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path, escalation_grace=0.2)
    stubborn = supervisor.start("stubborn", [sys.executable, "-c", STUBBORN], stop_timeout=0.5)
    time.sleep(0.5)

    supervisor.stop()

    assert stubborn.process.returncode == -signal.SIGKILL


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

    wait_until_gone({grandchild}, "the grandchild to end after the stop")


def test_sigterm_to_the_supervisor_requests_a_stop_instead_of_killing_it(tmp_path: Path) -> None:
    supervisor = Supervisor(cwd=tmp_path)
    child = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    with supervisor.handling_signals():
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        failure = supervisor.watch(timeout=20)
        assert failure is None and supervisor.stop_requested
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


# A supervisor in a process of its own: one child that forks a grandchild into a process group of its
# own (as RQ forks a work horse) and one into a session of its own, then records every pid.
SUPERVISOR = """
import subprocess, sys, time
from hytnas_web.lib.supervisor import Supervisor
forking = (
    "import os, subprocess, sys, time;"
    "horse = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], process_group=0);"
    "loner = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(99)'], start_new_session=1);"
    "print(os.getpid(), horse.pid, loner.pid, flush=True);"
    "time.sleep(120)"
)
supervisor = Supervisor()
supervisor.start("forker", [sys.executable, "-c", forking])
supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
print(" ".join(str(child.pid) for child in supervisor.children), flush=True)
with supervisor.handling_signals():
    supervisor.watch()
    supervisor.stop()
"""


def test_children_and_what_they_fork_end_when_the_supervisor_is_sigkilled(tmp_path: Path) -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=quiet_env()
    )
    assert supervisor.stdout is not None
    printed = {int(word) for _ in range(2) for word in supervisor.stdout.readline().split()}
    assert len(printed) == 5, printed  # two guards, the forking child, its two grandchildren
    # ... and the sleeper under its guard: six processes in all.
    deadline = time.monotonic() + 60
    while len(pids := pids_below(supervisor.pid)) < 6:
        assert time.monotonic() < deadline, f"waited 60 s for six processes below the supervisor: {pids}"
        time.sleep(0.1)
    assert printed <= pids

    supervisor.kill()
    supervisor.wait()

    wait_until_gone(pids, "every child and grandchild to end after the supervisor's SIGKILL")


def quiet_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def pids_below(root: int) -> set[int]:
    from hytnas_web.lib.guard import descendants

    return descendants(root)


def wait_for_pid(pid_file: Path, supervisor: Supervisor, other_than: int | None = None) -> int:
    """The pid the child wrote once it is a live process other than ``other_than``; supervises meanwhile."""

    def written() -> bool:
        text = pid_file.read_text() if pid_file.exists() else ""
        return text.isdigit() and int(text) != other_than and process_exists(int(text))

    assert supervisor.watch(until=written, timeout=60) is None
    assert written(), "waited 60 s for the (re)started child to write its pid"
    return int(pid_file.read_text())


def wait_until_gone(pids: set[int], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while alive := {pid for pid in pids if process_exists(pid)}:
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}; still running: {alive}"
        time.sleep(0.1)


# A guard started from a thread that ends at once: Linux's parent-death signal would fire then.
THREADED = """
import subprocess, sys, threading, time
from hytnas_web.lib.guard import guarded
started = []
def start():
    started.append(subprocess.Popen(guarded([sys.executable, "-c", "import time; time.sleep(120)"])))
thread = threading.Thread(target=start)
thread.start()
thread.join()
print(started[0].pid, " ".join(started[0].args), flush=True)
time.sleep(120)
"""


def test_a_guard_started_from_a_thread_outlives_the_thread_but_not_the_process(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", THREADED], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=quiet_env()
    )
    assert parent.stdout is not None
    guard_pid, command = parent.stdout.readline().split(" ", 1)
    assert "--watch-only" in command.split()
    deadline = time.monotonic() + 60
    while len(pids := pids_below(parent.pid)) < 2:
        assert time.monotonic() < deadline, f"waited 60 s for the guard and its sleeper: {pids}"
        time.sleep(0.1)
    assert int(guard_pid) in pids
    time.sleep(2)  # the thread ended long ago: a parent-death signal would have fired by now
    assert all(process_exists(pid) for pid in pids)

    parent.kill()
    parent.wait()

    wait_until_gone(pids, "the guard and its sleeper to end after their parent process's SIGKILL")
