"""Stand-in machines for tests: Linux network namespaces joined by veth links that a test can cut.

A ``Network`` makes a "server" namespace and any number of worker "hosts", each host with its own
veth link (a /30 of a random 10.x.y.0/24) to the server namespace, and one more link from the test
process (root namespace) to the server namespace. Nothing is routed: a host reaches only the server's
end of its own link, so traffic never leaves the namespaces the test made. ``ServerStack`` runs the
services a deployment has (Redis, a throw-away PostgreSQL cluster, gunicorn, the reconciler) inside
the server namespace. Everything (processes, namespaces, folders) goes away on ``close()``, which the
context managers call even when a test fails; only a test run killed outright (SIGKILL) leaves its
``hyt-<tag>-*`` namespaces behind, for ``ip netns pids`` / ``ip netns del`` by hand.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REDIS_PORT = 6379  # each namespace has its own ports: the well-known ones never collide with the host's
POSTGRES_PORT = 5432
WEB_PORT = 8000
DATABASE_NAME = "hytnas"
KEEP_LOGS = "HYTNAS_TEST_HOSTS_LOGS"  # a folder: every process's log is copied there at the end
DATABASE_CHOICE = "HYTNAS_TEST_HOSTS_DATABASE"  # "sqlite" forces the file database even with PostgreSQL


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def namespaces_unavailable() -> str | None:
    """None when this process can create network namespaces and veth links, else the reason it cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root (this test run is not root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"hyt-probe-{secrets.token_hex(4)}"
    added = _ip("netns", "add", probe, check=False)
    if added.returncode != 0:
        return f"`ip netns add` was refused: {added.stderr.strip()}"
    try:
        veth = f"hytp{secrets.token_hex(4)}"
        linked = _ip(
            "link", "add", veth, "type", "veth", "peer", "name", veth + "x", "netns", probe, check=False
        )
        if linked.returncode != 0:
            return f"`ip link add ... type veth` was refused: {linked.stderr.strip()}"
    finally:
        _ip("netns", "del", probe, check=False)  # takes the probe's veth pair with it
    return None


def postgres_binaries() -> Path | None:
    """The bin folder of the newest PostgreSQL server installed (Debian layout), None when absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_block() -> tuple[int, int]:
    """A random 10.x.y.0/24 that no interface of the root namespace uses (the links' addresses)."""
    used = _ip("-4", "-o", "addr", "show").stdout
    for _ in range(100):
        x, y = secrets.randbelow(200) + 50, secrets.randbelow(256)
        if f" 10.{x}.{y}." not in used:
            return x, y
    raise RuntimeError("no free 10.x.y.0/24 for the test links")


@dataclass
class Host:
    """One namespace's end of a link: ``address`` is its own, ``server_address`` the server's end."""

    name: str
    namespace: str
    interface: str
    address: str
    server_address: str


@dataclass
class Network:
    """A server namespace, a link to it from the test process, and worker hosts added on demand.

    Namespace names carry a random tag, so two test runs on one machine never collide.
    """

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    block: tuple[int, int] = (0, 0)
    _namespaces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.block = _free_block()
        self.server_namespace = f"hyt-{self.tag}-srv"
        self._add_namespace(self.server_namespace)
        # Link 0 joins the test process to the server; its root end is never a destination.
        self.tester = self._link("tester", None)

    def _add_namespace(self, namespace: str) -> None:
        _ip("netns", "add", namespace)
        self._namespaces.append(namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")

    def _address(self, link: int, end: int) -> str:
        x, y = self.block
        return f"10.{x}.{y}.{4 * link + end}"

    def _link(self, name: str, namespace: str | None) -> Host:
        """A veth pair between ``namespace`` (None: the root namespace) and the server namespace."""
        link = len(self.hosts)
        near, far = f"hyt{self.tag}h{link}", f"hyt{self.tag}s{link}"
        _ip("link", "add", near, "type", "veth", "peer", "name", far, "netns", self.server_namespace)
        where = [] if namespace is None else ["-n", namespace]
        if namespace is not None:
            _ip("link", "set", near, "netns", namespace)
        host = Host(name, namespace or "", near, self._address(link, 2), self._address(link, 1))
        _ip(*where, "addr", "add", f"{host.address}/30", "dev", near)
        _ip("-n", self.server_namespace, "addr", "add", f"{host.server_address}/30", "dev", far)
        _ip(*where, "link", "set", near, "up")
        _ip("-n", self.server_namespace, "link", "set", far, "up")
        self.hosts[name] = host
        return host

    def add_host(self, name: str) -> Host:
        """A new worker machine: its own namespace, linked to the server namespace only."""
        namespace = f"hyt-{self.tag}-{name}"
        self._add_namespace(namespace)
        return self._link(name, namespace)

    @property
    def server_addresses(self) -> list[str]:
        """The server's end of every link, the addresses its services listen on."""
        return [host.server_address for host in self.hosts.values()]

    def run(
        self, namespace: str, command: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` inside ``namespace`` with its output in ``log``; stopped by ``close``."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *command],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def cut(self, host: Host) -> None:
        """Unplug the host's cable: its end of the link goes down (the server's end loses carrier)."""
        _ip("-n", host.namespace, "link", "set", host.interface, "down")

    def restore(self, host: Host) -> None:
        """Plug it back in: the link comes up with the same addresses."""
        _ip("-n", host.namespace, "link", "set", host.interface, "up")

    def close(self) -> None:
        """Stop every process started in the namespaces (TERM, then KILL), then delete the namespaces."""
        for process in reversed(self.processes):
            stop_process(process)
        for namespace in reversed(self._namespaces):
            _kill_namespace_processes(namespace)
            _ip("netns", "del", namespace, check=False)  # its veth ends, and so their peers, go too
        self._namespaces.clear()


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, up to ``grace`` seconds to exit, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _kill_namespace_processes(namespace: str, grace: float = 10.0) -> None:
    """Every process still inside ``namespace`` (children of children too) gets TERM, then KILL."""

    def pids() -> list[int]:
        listed = _ip("netns", "pids", namespace, check=False).stdout.split()
        return [int(pid) for pid in listed if pid.isdigit()]

    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + grace
        while pids() and time.monotonic() < deadline:
            time.sleep(0.1)


def _port_answers(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((address, port)) == 0


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def log_tail(path: Path, characters: int = 3000) -> str:
    """The end of a log file, for failure messages."""
    if not path.exists():
        return f"({path.name}: no log)"
    return f"--- {path.name} ---\n" + path.read_text(errors="replace")[-characters:]


@dataclass
class ServerStack:
    """Redis, PostgreSQL, the web app and the reconciler in the network's server namespace.

    The database is a private PostgreSQL cluster (``initdb`` as the ``postgres`` user, trust
    authentication, data under ``directory``) listening on the server's end of every link, so worker
    hosts reach it exactly as they would a database server. Without ``postgres_bin`` it is an SQLite
    file, which only processes in the server namespace can open: hosts then reach the web app alone.
    """

    network: Network
    directory: Path
    postgres_bin: Path | None
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return "sqlite" if self.postgres_bin is None else "postgresql"

    @property
    def sqlite_file(self) -> Path:
        return self.directory / "hytnas.sqlite3"

    def url_for(self, host: Host) -> dict[str, str]:
        """DATABASE_URL, REDIS_URL and the web address as seen from ``host``."""
        address = host.server_address
        database = f"postgresql://postgres@{address}:{POSTGRES_PORT}/{DATABASE_NAME}"
        return {
            "DATABASE_URL": f"sqlite:///{self.sqlite_file}" if self.postgres_bin is None else database,
            "REDIS_URL": f"redis://{address}:{REDIS_PORT}/0",
            "WEB": f"http://{address}:{WEB_PORT}",
        }

    def django_env(self, host: Host) -> dict[str, str]:
        """Environment of a Django process (web app, worker, reconciler) on ``host``."""
        urls = self.url_for(host)
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("HYTNAS_TEST", "PYTEST"))
        }
        env.update(
            DATABASE_URL=urls["DATABASE_URL"],
            REDIS_URL=urls["REDIS_URL"],
            DJANGO_SETTINGS_MODULE="hytnas_web.settings",
            ALLOWED_HOSTS=",".join(self.network.server_addresses),
            PYTHONUNBUFFERED="1",
            **self.settings,
        )
        return env

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def start(self) -> ServerStack:
        if self.postgres_bin is not None:
            self._start_postgres()
        self._start_redis()
        server = self.network.tester  # the server's processes use the test process's link address
        self.manage(["migrate", "--noinput"], "migrate", timeout=300)
        self.gunicorn = self.network.run(
            self.network.server_namespace,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "hytnas_web.wsgi:application",
                "--workers",
                "1",
                "--threads",
                "4",
                *[f"--bind={address}:{WEB_PORT}" for address in self.network.server_addresses],
            ],
            self.log("gunicorn"),
            self.django_env(server),
        )
        self.reconciler = self.network.run(
            self.network.server_namespace,
            [sys.executable, "manage.py", "reconcile", "--loop", "--every", "2"],
            self.log("reconciler"),
            self.django_env(server),
        )
        wait_until(lambda: _port_answers(server.server_address, WEB_PORT), 60, "the web server to listen")
        return self

    def _start_postgres(self) -> None:
        assert self.postgres_bin is not None
        data = self.directory / "pgdata"
        self.directory.chmod(0o755)  # the postgres user walks in; the data folder stays its own, 0700
        data.mkdir(mode=0o700)
        shutil.chown(data, "postgres", "postgres")
        initdb = [str(self.postgres_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        with self.log("initdb").open("wb") as out:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", *initdb, "--no-sync"],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                cwd="/",
            )
        # Trust the links' block only (initdb's own entries cover local sockets and loopback).
        x, y = self.network.block
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all 10.{x}.{y}.0/24 trust\n")
        options = {
            "listen_addresses": ",".join(self.network.server_addresses),
            "port": str(POSTGRES_PORT),
            "unix_socket_directories": str(data),
            "fsync": "off",  # a throw-away cluster: speed over durability
            "max_connections": "100",
        }
        settings = [item for key, value in options.items() for item in ("-c", f"{key}={value}")]
        self.postgres_data = data
        self.network.run(
            self.network.server_namespace,
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.postgres_bin / "postgres"),
                "-D",
                str(data),
                *settings,
            ],
            self.log("postgres"),
        )
        address = self.network.tester.server_address
        wait_until(lambda: _port_answers(address, POSTGRES_PORT), 60, "PostgreSQL to listen")
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@{address}:{POSTGRES_PORT}/postgres", autocommit=True
        ) as db:
            db.execute(f"CREATE DATABASE {DATABASE_NAME}")

    def _start_redis(self) -> None:
        from hytnas_web.lib.embedded_redis import redis_server_binary

        folder = self.directory / "redis"
        folder.mkdir()
        command = [
            str(redis_server_binary()),
            "--bind",
            *self.network.server_addresses,
            "--port",
            str(REDIS_PORT),
            "--protected-mode",
            "no",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
        ]
        self.network.run(self.network.server_namespace, command, self.log("redis"))
        address = self.network.tester.server_address
        wait_until(lambda: _port_answers(address, REDIS_PORT), 30, "Redis to listen")

    def manage(self, arguments: list[str], log: str, timeout: float = 120) -> str:
        """Run ``manage.py <arguments>`` in the server namespace to its end; returns its standard output."""
        command = [
            "ip",
            "netns",
            "exec",
            self.network.server_namespace,
            sys.executable,
            "manage.py",
            *arguments,
        ]
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=self.django_env(self.network.tester),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.log(log).write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def shell_json(self, code: str, log: str) -> Any:
        """Run Python ``code`` in ``manage.py shell`` on the server; its last output line, read as JSON."""
        return json.loads(self.manage(["shell", "-c", code], log).strip().splitlines()[-1])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query (``%s`` placeholders), over the test link or from the SQLite file."""
        if self.postgres_bin is None:
            import sqlite3

            with closing(sqlite3.connect(self.sqlite_file, timeout=30)) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        url = self.url_for(self.network.tester)["DATABASE_URL"]
        with psycopg.connect(url, connect_timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def stop_postgres(self) -> None:
        """A fast shutdown, so no shared memory of the throw-away cluster outlives the test."""
        if self.postgres_bin is None:
            return
        pg_ctl = [str(self.postgres_bin / "pg_ctl"), "stop", "-D", str(self.postgres_data), "-m", "immediate"]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *pg_ctl], capture_output=True, cwd="/", check=False
        )


def _copy_logs(directory: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for log in directory.glob("*.log"):
        shutil.copy(log, destination / log.name)


@contextmanager
def server_stack(
    settings: dict[str, str], hosts: list[str], postgres_bin: Path | None
) -> Iterator[tuple[ServerStack, dict[str, Host]]]:
    """A network with worker ``hosts`` and a running ``ServerStack``; all of it removed on exit.

    ``postgres_bin`` None: the database is an SQLite file in the server namespace.
    """
    with ExitStack() as cleanup:
        directory = Path(tempfile.mkdtemp(prefix="hyt-hosts-"))
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        keep = os.environ.get(KEEP_LOGS)
        if keep:
            cleanup.callback(_copy_logs, directory, Path(keep))
        network = Network()
        cleanup.callback(network.close)
        workers = {name: network.add_host(name) for name in hosts}
        stack = ServerStack(network, directory, postgres_bin, settings)
        cleanup.callback(stack.stop_postgres)
        yield stack.start(), workers
