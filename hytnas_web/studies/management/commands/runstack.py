"""``manage.py runstack``: set everything up and run the whole product until Ctrl-C.

Migrates, collects static files, makes sure the admin exists, syncs the built-in presets, starts
the embedded Redis (when REDIS_URL is unset), RQ workers, the reconciler and gunicorn, then stops
them all in reverse order on SIGINT or SIGTERM. A process that exits is started again (Redis on the
same port and folder) after a back-off of 1 s doubling to 30 s, announced on the console; only a crash
loop (``--crash-limit`` exits of one process within ``--crash-window`` seconds) stops the rest, and the
command then exits with status 1 naming the process, so a broken product never goes unnoticed. The
processes end with this command even when it is killed outright (see hytnas_web.lib.guard).

The workers follow ``worker_queues``: the evaluations queue, where networks are timed, gets exactly
``--measuring-workers`` consumers (default 1, whatever ``--workers`` says), so two networks are never
timed at once on this machine's CPUs and none waits behind an iteration; the other workers take the
iterations and default queues.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from hytnas_web.lib.embedded_redis import EmbeddedRedis, ensure_embedded_redis, port_is_open
from hytnas_web.lib.supervisor import RestartPolicy, Supervisor

WORKER_CLASS = "hytnas_web.studies.worker.ReconcilingWorker"


def worker_queues(workers: int, measuring_workers: int = 1) -> list[tuple[str, ...]]:
    """The queues each of ``workers`` RQ workers consumes, in RQ's priority order.

    Exactly ``measuring_workers`` of them consume the evaluations queue. With more workers than
    that, the measuring ones consume it alone (a measurement never waits behind an iteration) and
    the others take the iterations and default queues; when every worker measures, each takes all
    three queues, so a single worker still runs the whole product.

    Raises:
        ValueError: a negative count, or more measuring workers than workers.
    """
    if workers < 0 or measuring_workers < 0:
        raise ValueError("--workers and --measuring-workers must be 0 or more")
    if measuring_workers > workers:
        raise ValueError(f"--measuring-workers ({measuring_workers}) cannot exceed --workers ({workers})")
    others = tuple(queue for queue in settings.WORKER_QUEUES if queue != settings.EVALUATION_QUEUE)
    if measuring_workers == workers:
        return [tuple(settings.WORKER_QUEUES)] * workers
    return [(settings.EVALUATION_QUEUE,)] * measuring_workers + [others] * (workers - measuring_workers)


WEB_START_TIMEOUT = 60.0


def manage(*arguments: str) -> list[str]:
    """A ``manage.py`` command line run with the interpreter running this one."""
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *arguments]


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class Command(BaseCommand):
    help = "Set up (migrate, static files, admin, presets), then run Redis, workers, reconciler and web."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=None, help="RQ worker processes (HYTNAS_WORKERS)")
        parser.add_argument(
            "--measuring-workers",
            type=int,
            default=1,
            help="workers consuming the evaluations (measuring) queue, the others take the rest (1)",
        )
        parser.add_argument("--host", default="127.0.0.1", help="address the web server binds (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument("--no-web", action="store_true", help="run workers and the reconciler only")
        parser.add_argument("--setup-only", action="store_true", help="run the set-up steps, then exit")
        defaults = RestartPolicy()
        parser.add_argument(
            "--crash-limit",
            type=int,
            default=defaults.crash_limit,
            help=f"stop all when one process exits this often within --crash-window ({defaults.crash_limit})",
        )
        parser.add_argument(
            "--crash-window",
            type=float,
            default=defaults.crash_window,
            help=f"seconds over which --crash-limit counts exits ({defaults.crash_window:g})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = settings.WORKERS if options["workers"] is None else options["workers"]
        if workers < 0:
            raise CommandError("--workers must be 0 or more")
        try:
            plan = worker_queues(workers, options["measuring_workers"] if workers else 0)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["crash_limit"] < 1 or options["crash_window"] <= 0:
            raise CommandError("--crash-limit must be 1 or more and --crash-window positive")
        policy = RestartPolicy(crash_limit=options["crash_limit"], crash_window=options["crash_window"])
        web = not options["no_web"]
        host, port = options["host"], options["port"]
        if web and not options["setup_only"] and port_is_open(self._connect_host(host), port):
            raise CommandError(f"port {port} is already in use; pass --port to choose another")
        try:
            self._set_up(options["verbosity"])
        except KeyboardInterrupt:
            raise CommandError("interrupted during set-up", returncode=130) from None
        if options["setup_only"]:
            return

        supervisor = Supervisor(cwd=settings.BASE_DIR, policy=policy, announce=self._say)
        with supervisor.handling_signals():
            try:
                failed = self._run(supervisor, plan, web, host, port)
            finally:
                if supervisor.children:
                    self.stdout.write("Stopping: " + ", ".join(c.name for c in reversed(supervisor.children)))
                supervisor.stop()
        if failed:
            raise CommandError(failed, returncode=1)
        self.stdout.write("Stopped cleanly.")

    def _set_up(self, verbosity: int) -> None:
        """Everything that must hold before a process starts: schema, static files, admin, presets."""
        from hytnas_web.studies import services

        call_command("migrate", interactive=False, verbosity=verbosity)
        call_command("collectstatic", interactive=False, verbosity=verbosity)
        call_command("ensure_admin", verbosity=verbosity)
        services.sync_builtin_presets()
        connections.close_all()  # the children open their own; keep no SQLite handle idle here

    def _say(self, message: str) -> None:
        """A line on the console now (output to a file or pipe is block-buffered otherwise)."""
        self.stdout.write(message)
        self.stdout.flush()

    def _run(
        self, supervisor: Supervisor, plan: list[tuple[str, ...]], web: bool, host: str, port: int
    ) -> str | None:
        """Start every process and watch them; a message when the stack gave up, None on a requested stop."""
        if settings.EMBEDDED_REDIS:
            self._start_embedded_redis(supervisor)
        self._check_redis()

        # Started before the workers so that it stops after them (reverse order).
        supervisor.start("reconciler", manage("reconcile", "--loop"))
        # No --with-scheduler: nothing is enqueued for later; the reconciler does the periodic work.
        for number, queues in enumerate(plan, start=1):
            command = manage("rqworker", *queues, "--worker-class", WORKER_CLASS)
            # SIGTERM twice: finish the current job if it is quick, else abort it (it is idempotent).
            supervisor.start(f"worker-{number}", command, stop_signals=(signal.SIGTERM, signal.SIGTERM))
        if web:
            supervisor.start("web", self._gunicorn(host, port), stop_timeout=15.0)

        connect_host = self._connect_host(host)

        def web_is_up() -> bool:
            return not web or port_is_open(connect_host, port)

        failure = supervisor.watch(until=web_is_up, timeout=WEB_START_TIMEOUT)
        if failure is None and not supervisor.stop_requested:
            if web and not port_is_open(connect_host, port):
                return f"the web server did not answer on port {port} within {WEB_START_TIMEOUT:.0f} s"
            self._announce(plan, web, connect_host, port)
            failure = supervisor.watch()
        return None if failure is None else str(failure)

    def _start_embedded_redis(self, supervisor: Supervisor) -> None:
        """Start the embedded Redis, to be restarted on the same port and folder whenever it exits."""
        # One folder per port: two embedded servers must never share an append-only file.
        server_port = settings.EMBEDDED_REDIS_PORT
        directory: Path = settings.VAR_DIR / "redis" / str(server_port)
        server = ensure_embedded_redis(server_port, directory)
        if server is None:
            self._say(f"Using the Redis that already listens on port {server_port}.")
            return

        def restart() -> subprocess.Popen[bytes]:
            process = EmbeddedRedis(server_port, directory).start().process
            assert process is not None
            return process

        assert server.process is not None
        supervisor.adopt("redis", server.process, spawn=restart, guarded=True)
        self._say(f"Started the embedded Redis on port {server.port} (files in {directory}).")

    def _check_redis(self) -> None:
        """Fail early and in words when Redis is not there, rather than through dying workers."""
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=5).ping()
        except redis.RedisError as error:
            raise CommandError(f"Redis at {redacted(settings.REDIS_URL)} does not answer: {error}") from None

    def _gunicorn(self, host: str, port: int) -> list[str]:
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "hytnas_web.wsgi:application",
            # Processes and threads sized to the machine (HYTNAS_WEB_WORKERS, HYTNAS_WEB_THREADS).
            "--config",
            "python:hytnas_web.gunicorn_conf",
            "--bind",
            bind,
            "--no-control-socket",
        ]

    @staticmethod
    def _connect_host(host: str) -> str:
        """Where to reach a server bound to ``host`` from this machine."""
        return "127.0.0.1" if host in {"", "0.0.0.0", "::", "[::]"} else host.strip("[]")

    def _announce(self, plan: list[tuple[str, ...]], web: bool, connect_host: str, port: int) -> None:
        measuring = sum(1 for queues in plan if settings.EVALUATION_QUEUE in queues)
        lines = [
            f"Running: {len(plan)} RQ worker(s) ({measuring} measuring on the {settings.EVALUATION_QUEUE} "
            f"queue), the reconciler, Redis at {redacted(settings.REDIS_URL)}."
        ]
        if web:
            address = f"[{connect_host}]" if ":" in connect_host else connect_host
            browse = f"Browse to http://{address}:{port}/ and sign in (admin site: /admin/)."
            lines.append(self.style.SUCCESS(browse))
        lines.append("Press Ctrl-C to stop everything.")
        self._say("\n".join(lines))
