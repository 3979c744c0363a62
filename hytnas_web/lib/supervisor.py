"""Start named child processes, watch them, and stop them in reverse order.

``manage.py runstack`` uses it to run Redis, workers, the reconciler and the web server as one
product. Each child runs in its own session, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children one by one (web first, Redis last) instead of every
process receiving the signal at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType


@dataclass
class Child:
    """One supervised process and how to stop it.

    ``stop_signals`` are sent in turn, the first followed by ``stop_timeout`` seconds of patience,
    each later one by a short grace; whatever still runs then is killed with SIGKILL (its whole
    process group). An RQ worker uses (SIGTERM, SIGTERM): warm shutdown, then cold shutdown, which
    also takes down the job's work horse (it runs in a process group of its own).
    """

    name: str
    process: subprocess.Popen[bytes]
    stop_signals: tuple[int, ...] = (signal.SIGTERM,)
    stop_timeout: float = 10.0
    leads_group: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def send(self, signum: int) -> None:
        """Signal the child's whole process group when it leads one, else the child alone."""
        with contextlib.suppress(ProcessLookupError):
            if self.leads_group:
                # Reaches processes the child forked (gunicorn's workers) even after the child is gone.
                os.killpg(self.pid, signum)
            elif self.running():
                self.process.send_signal(signum)


@dataclass
class Supervisor:
    """Children started (or adopted) in order, stopped in reverse order."""

    cwd: Path | None = None
    env: dict[str, str] | None = None
    escalation_grace: float = 3.0
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
        """Start ``command`` as the child ``name`` in a session of its own; output goes to ours."""
        process = subprocess.Popen(
            list(command), cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        return self.adopt(name, process, stop_signals=stop_signals, stop_timeout=stop_timeout)

    def adopt(
        self,
        name: str,
        process: subprocess.Popen[bytes],
        *,
        stop_signals: tuple[int, ...] = (signal.SIGTERM,),
        stop_timeout: float = 10.0,
    ) -> Child:
        """Watch and later stop a process started elsewhere (e.g. the embedded Redis)."""
        leads_group = False
        with contextlib.suppress(ProcessLookupError):
            leads_group = os.getpgid(process.pid) == process.pid
        child = Child(name, process, stop_signals, stop_timeout, leads_group)
        self.children.append(child)
        return child

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask ``wait`` to return; a second request while stopping skips the remaining patience."""
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

    def wait(
        self, until: Callable[[], bool] | None = None, timeout: float | None = None, poll: float = 0.1
    ) -> Child | None:
        """Block until a stop is requested, ``until()`` is true, ``timeout`` passes or a child exits.

        Returns the child that exited (a surprise: children are meant to run until stopped), else None.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.stop_requested:
            for child in self.children:
                if not child.running():
                    return child
            if until is not None and until():
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)
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
        # Whatever is left in the child's process group (a gunicorn or RQ worker process) goes too.
        child.send(signal.SIGKILL)
        child.process.wait()

    def _wait_for_exit(self, child: Child, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while child.running():
            if self._hurry or time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


__all__ = ["Child", "Supervisor"]
