"""Start named child processes, restart those that exit, and stop them all in reverse order.

``manage.py runstack`` uses it to run Redis, workers, the reconciler and the web server as one
product. Each child runs in its own session, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children one by one (web first, Redis last) instead of every
process receiving the signal at once.

A child that exits (any status, or killed) is started again after a back-off delay that doubles
on each quick exit and starts over once the child has run for a while; only a crash loop (too
many exits of one child within a window) stops the whole stack, because a product that restarts
a worker after a Redis hiccup is better than one that stops its web server for it.

Children started with ``start`` run under ``guard.py``, which ends them and everything they start
(gunicorn's workers, RQ's work horses) when the supervisor ends, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from hytnas_web.lib.guard import KILL_NOW, guarded

Spawn = Callable[[], "subprocess.Popen[bytes]"]
# How long a guard may take to end its tree after KILL_NOW before its process group gets SIGKILL.
GUARD_KILL_TIMEOUT = 5.0


@dataclass(frozen=True)
class RestartPolicy:
    """When a child that exited is started again, and how many exits make a crash loop."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    # A child that ran this long before exiting was healthy: its next restart waits first_delay again.
    healthy_after: float = 60.0
    # This many exits of one child within crash_window seconds stop the stack.
    crash_limit: int = 8
    crash_window: float = 300.0

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.max_delay < self.first_delay:
            raise ValueError("restart delays must satisfy 0 <= first_delay <= max_delay")
        if self.crash_limit < 1 or self.crash_window <= 0:
            raise ValueError("crash_limit must be at least 1 and crash_window positive")


def describe_exit(returncode: int | None) -> str:
    """``status 3`` or ``killed by SIGKILL``, for messages."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"status {returncode}"


@dataclass
class Child:
    """One supervised process, how to start it again and how to stop it.

    ``stop_signals`` are sent in turn, the first followed by ``stop_timeout`` seconds of patience,
    each later one by a short grace; whatever still runs then is killed (a guarded child's whole
    tree, else its process group). An RQ worker uses (SIGTERM, SIGTERM): warm shutdown, then cold
    shutdown, which also takes down the job's work horse.
    """

    name: str
    process: subprocess.Popen[bytes]
    spawn: Spawn | None = None  # None: the child cannot be restarted, its exit stops the stack
    stop_signals: tuple[int, ...] = (signal.SIGTERM,)
    stop_timeout: float = 10.0
    guarded: bool = False  # process is a guard.py that forwards signals to the real command
    leads_group: bool = False
    started_at: float = field(default_factory=time.monotonic)
    exits: deque[float] = field(default_factory=deque)  # monotonic times of recent exits
    delay: float = 0.0  # the next restart's back-off
    restart_at: float | None = None  # when a restart is due; None while running
    last_exit: str = ""
    # True once ``kill`` has ended this process's tree: its pid may be reused later, never signal it again.
    settled: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def send(self, signum: int) -> None:
        """Signal the child (a guard passes it on); else its process group when it leads one."""
        if self.settled:
            return
        with contextlib.suppress(ProcessLookupError):
            if self.guarded:
                if self.running():
                    self.process.send_signal(signum)
            elif self.leads_group:
                # Reaches processes the child forked (gunicorn's workers) even after the child is gone.
                os.killpg(self.pid, signum)
            elif self.running():
                self.process.send_signal(signum)

    def kill(self) -> None:
        """End the child and everything it started, now; returns once the child is reaped."""
        if self.settled:
            return
        if self.guarded and self.running():
            self.send(KILL_NOW)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(GUARD_KILL_TIMEOUT)
        # Last resort, and for unguarded children: their whole process group.
        with contextlib.suppress(ProcessLookupError):
            if self.leads_group:
                os.killpg(self.pid, signal.SIGKILL)
            elif self.running():
                self.process.kill()
        self.process.wait()
        self.settled = True


@dataclass(frozen=True)
class Failure:
    """Why the supervisor gave up: which child, how often it exited, how it last exited."""

    child: Child
    exits: int
    window: float

    def __str__(self) -> str:
        if self.child.spawn is None:
            return f"{self.child.name} exited ({self.child.last_exit}) and cannot be restarted"
        return (
            f"crash loop: {self.child.name} exited {self.exits} times within {self.window:g} s "
            f"(last: {self.child.last_exit}); stopping everything"
        )


def _announce_on_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Supervisor:
    """Children started (or adopted) in order, restarted when they exit, stopped in reverse order."""

    cwd: Path | None = None
    env: dict[str, str] | None = None
    escalation_grace: float = 3.0
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    announce: Callable[[str], None] = _announce_on_stderr
    children: list[Child] = field(default_factory=list)
    stop_requested: bool = False
    _hurry: bool = False

    def start(
        self,
        name: str,
        command: Sequence[str],
        *,
        stop_signals: tuple[int, ...] = (signal.SIGTERM,),
        stop_timeout: float = 10.0,
    ) -> Child:
        """Start ``command`` as the child ``name`` under a guard, in a session of its own.

        Call it from the main thread: the guard's parent-death signal fires when the thread that
        started it ends. Output goes to ours.
        """
        wrapped = guarded(command)

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                wrapped, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True
            )

        child = self.adopt(name, spawn(), spawn=spawn, stop_signals=stop_signals, stop_timeout=stop_timeout)
        child.guarded = True
        return child

    def adopt(
        self,
        name: str,
        process: subprocess.Popen[bytes],
        *,
        spawn: Spawn | None = None,
        guarded: bool = False,
        stop_signals: tuple[int, ...] = (signal.SIGTERM,),
        stop_timeout: float = 10.0,
    ) -> Child:
        """Watch a process started elsewhere (e.g. the embedded Redis); ``spawn`` starts it again."""
        child = Child(name, process, spawn, stop_signals, stop_timeout, guarded, _leads_group(process))
        child.delay = self.policy.first_delay
        self.children.append(child)
        return child

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask ``watch`` to return; a second request while stopping skips the remaining patience."""
        if self.stop_requested:
            self._hurry = True
        self.stop_requested = True

    @contextlib.contextmanager
    def handling_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM request a stop instead of raising, for the duration of the block."""
        signums = (signal.SIGINT, signal.SIGTERM)
        previous = {signum: signal.signal(signum, self.request_stop) for signum in signums}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def watch(
        self, until: Callable[[], bool] | None = None, timeout: float | None = None, poll: float = 0.1
    ) -> Failure | None:
        """Restart children as they exit until a stop is requested, ``until()`` holds or ``timeout`` passes.

        Returns the Failure that ends the stack (a crash loop, or a child that cannot be restarted),
        else None.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.stop_requested:
            for child in self.children:
                if child.restart_at is None and not child.running():
                    failure = self._exited(child, describe_exit(child.process.returncode))
                    if failure is not None:
                        return failure
                elif child.restart_at is not None and time.monotonic() >= child.restart_at:
                    failure = self._restart(child)
                    if failure is not None:
                        return failure
            if until is not None and until():
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)
        return None

    def _exited(self, child: Child, how: str) -> Failure | None:
        """Note an exit and schedule the restart; a Failure when this exit completes a crash loop."""
        now = time.monotonic()
        ran = now - child.started_at
        child.last_exit = how
        child.kill()  # leftovers of the tree (a guard has ended it already; this reaps and makes sure)
        child.exits.append(now)
        while child.exits and child.exits[0] < now - self.policy.crash_window:
            child.exits.popleft()
        if child.spawn is None or len(child.exits) >= self.policy.crash_limit:
            return Failure(child, len(child.exits), self.policy.crash_window)
        if ran >= self.policy.healthy_after:
            child.delay = self.policy.first_delay
        child.restart_at = now + child.delay
        self.announce(
            f"{child.name} exited ({how}) after {ran:.1f} s; restarting it in {child.delay:g} s "
            f"({len(child.exits)} exit(s) within {self.policy.crash_window:g} s; "
            f"{self.policy.crash_limit} stop everything)."
        )
        child.delay = min(max(child.delay * 2, self.policy.first_delay), self.policy.max_delay)
        return None

    def _restart(self, child: Child) -> Failure | None:
        assert child.spawn is not None
        child.restart_at = None
        child.started_at = time.monotonic()
        try:
            child.process = child.spawn()
        except (OSError, RuntimeError) as error:  # e.g. the embedded Redis exited before it listened
            return self._exited(child, f"could not start: {error}")
        child.leads_group = _leads_group(child.process)
        child.settled = False
        self.announce(f"Restarted {child.name} (pid {child.pid}).")
        return None

    def stop(self) -> None:
        """Stop every child, the last started first, each one fully before the next."""
        self.stop_requested = True
        for child in reversed(self.children):
            self._stop_child(child)

    def _stop_child(self, child: Child) -> None:
        for number, signum in enumerate(child.stop_signals):
            if not child.running():
                break
            child.send(signum)
            patience = child.stop_timeout if number == 0 else self.escalation_grace
            if self._wait_for_exit(child, patience):
                break
        # Whatever is left (a gunicorn or RQ work horse process) goes too.
        child.kill()

    def _wait_for_exit(self, child: Child, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while child.running():
            if self._hurry or time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def _leads_group(process: subprocess.Popen[bytes]) -> bool:
    with contextlib.suppress(ProcessLookupError):
        return os.getpgid(process.pid) == process.pid
    return False


__all__ = ["Child", "Failure", "RestartPolicy", "Supervisor", "describe_exit"]
