"""Run one command so that it, and every process it starts, ends with the process that started the guard.

The supervisor starts each child as ``python guard.py PARENT_PID -- COMMAND...`` (a script run by path,
standard library only, so it starts in milliseconds and imports nothing of the project). Why a process
of its own rather than a parent-death signal set before exec: the signal is not inherited across
fork, so it would reach an RQ worker but not the work horse the worker forks into a process group of
its own, nor gunicorn's workers. The guard therefore

- asks Linux for a parent-death signal (PR_SET_PDEATHSIG) and also looks at its parent's pid every
  second, so it notices the supervisor's end however it ends, SIGKILL included (the look alone covers
  other systems, and guards started from a thread other than the main one: ``--watch-only``);
- becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so every orphaned descendant (a work horse
  whose worker died, a gunicorn worker whose master died) is re-parented to it instead of to init, and
  it can find and end the whole tree by walking /proc;
- forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to the command: signal the guard as you would the command;
- ends the whole tree when the command exits (leftovers get SIGTERM, then SIGKILL after a grace),
  on ``KILL_NOW`` (SIGKILL to all at once) or when the parent is gone (SIGTERM, grace, SIGKILL);
- exits the way the command did (same status, or killed by the same signal), so the supervisor
  reports the command's exit, not the guard's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
# Sent by the supervisor when its patience is over: end the command and everything it started now.
KILL_NOW = signal.SIGUSR1
# The parent-death signal the kernel sends the guard.
PARENT_GONE = signal.SIGUSR2
# Seconds the leftovers get between SIGTERM and SIGKILL (Redis flushes its append-only file on SIGTERM).
GRACE = 3.0
# Seconds between looks at the parent's pid; signals (the child's exit, a request) wake the guard at once.
WATCH_INTERVAL = 1.0
WATCH_ONLY = "--watch-only"


def guarded(command: Sequence[str]) -> list[str]:
    """``command`` run under a guard whose parent is this process.

    Linux sends the parent-death signal when the *thread* that started the guard ends, so a guard
    started from any other thread than the main one only watches its parent's pid.
    """
    options = [] if threading.current_thread() is threading.main_thread() else [WATCH_ONLY]
    return [sys.executable, str(Path(__file__).resolve()), *options, str(os.getpid()), "--", *command]


def prctl(option: int, value: int) -> bool:
    """Call Linux's prctl(2); False where there is none (other systems) or it refuses."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask for ``signum`` when the parent thread ends (used in a child between fork and exec)."""
    prctl(PR_SET_PDEATHSIG, signum)


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` in the parent tree (zombies excluded), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class Guard:
    """The command's process, its exit status once known, and the requests signals made."""

    def __init__(self, parent: int, command: list[str], parent_death_signal: bool = True) -> None:
        self.parent = parent
        self.status: int | None = None  # the command's wait status, once it has been reaped
        self.request: int | None = None  # KILL_NOW or PARENT_GONE, once one arrived
        self.process: subprocess.Popen[bytes] | None = None
        self.subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1)
        if parent_death_signal:
            prctl(PR_SET_PDEATHSIG, PARENT_GONE)
        # Every signal with a handler writes a byte here, so the guard sleeps in select() until one comes.
        self.wakeup, wakeup_write = os.pipe()
        os.set_blocking(self.wakeup, False)
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)
        for signum in FORWARDED:
            signal.signal(signum, self._forward)
        signal.signal(KILL_NOW, self._note)
        signal.signal(PARENT_GONE, self._note)
        signal.signal(signal.SIGCHLD, self._note_child)
        # If the guard itself is killed outright, the command still goes (its grandchildren are then
        # ended by the supervisor's last resort, a SIGKILL to the process group).
        self.process = subprocess.Popen(command, preexec_fn=die_with_parent)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        if self.process is not None and self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.request = signum

    def _note_child(self, signum: int, frame: FrameType | None) -> None:
        """Nothing to do here: the byte on the wakeup pipe ends the select() in ``sleep``."""

    def sleep(self, seconds: float) -> None:
        """Until a signal arrives, at most ``seconds``."""
        select.select([self.wakeup], [], [], seconds)
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wakeup, 512):
                pass

    def parent_gone(self) -> bool:
        # Checked as well as the signal: the parent may have died before prctl ran, or prctl may be missing.
        return self.request == PARENT_GONE or os.getppid() != self.parent

    def reap(self) -> None:
        """Collect every exited child (the command and re-parented orphans) without blocking."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.process is not None and pid == self.process.pid:
                self.status = status
                self.process.returncode = os.waitstatus_to_exitcode(status)

    def run(self) -> int:
        """Wait for the command, the parent's end or a kill request; then end the tree. Returns a status."""
        while self.status is None:
            if self.request == KILL_NOW:
                self.end_tree(grace=0.0)
            elif self.parent_gone():
                self.end_tree(grace=GRACE)
            self.reap()
            if self.status is None:
                self.sleep(WATCH_INTERVAL)
        status = self.status
        self.end_tree(grace=0.0 if self.request == KILL_NOW else GRACE)
        return status

    def tree(self) -> set[int]:
        if self.subreaper or Path("/proc/self/stat").exists():
            return descendants(os.getpid())
        # Without /proc: the command alone (its own descendants are its business).
        return {self.process.pid} if self.process is not None and self.status is None else set()

    def end_tree(self, grace: float) -> None:
        """SIGTERM everything below the guard, wait up to ``grace`` seconds, then SIGKILL what is left."""
        first = signal.SIGTERM if grace > 0 else signal.SIGKILL
        for pid in self.tree():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, first)
        deadline = time.monotonic() + grace
        while self.tree() and time.monotonic() < deadline:
            time.sleep(0.05)
            self.reap()
        for _ in range(50):  # a process may fork while it is being killed: repeat until none is left
            remaining = self.tree()
            if not remaining:
                break
            for pid in remaining:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
            self.reap()
        self.reap()


def exit_like(status: int) -> None:
    """Leave with the command's exit status, or die of the signal that killed it."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        sys.exit(128 + signum)  # a signal whose default is not to terminate
    sys.exit(os.waitstatus_to_exitcode(status))


def main(arguments: list[str]) -> None:
    watch_only = arguments[:1] == [WATCH_ONLY]
    arguments = arguments[1:] if watch_only else arguments
    if len(arguments) < 3 or arguments[1] != "--":
        sys.exit(f"usage: guard.py [{WATCH_ONLY}] PARENT_PID -- COMMAND [ARGUMENT...]")
    parent, command = int(arguments[0]), arguments[2:]
    try:
        guard = Guard(parent, command, parent_death_signal=not watch_only)
    except OSError as error:
        sys.exit(f"guard: cannot start {command[0]}: {error}")
    exit_like(guard.run())


if __name__ == "__main__":
    main(sys.argv[1:])
