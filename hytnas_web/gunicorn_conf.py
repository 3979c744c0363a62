"""Gunicorn settings of the web server: ``gunicorn -c python:hytnas_web.gunicorn_conf hytnas_web.wsgi``.

runstack, the Dockerfile and compose.yaml all pass it, so the web server is sized the same way
everywhere: one process per processor (Python runs one thread at a time per process) and a few
threads each, so a request waiting on the database or Redis does not hold a processor. Threaded
workers (``gthread``) keep idle keep-alive connections out of the threads: a watcher polling every
2 s keeps one connection open instead of reconnecting for each poll. Override with
``HYTNAS_WEB_WORKERS``, ``HYTNAS_WEB_THREADS`` and ``HYTNAS_WEB_NICE`` (README.md, Configuration).
"""

from __future__ import annotations

import os

from hytnas_web.settings import env_int


def processors() -> int:
    """Processors this process may run on (the affinity mask, e.g. a container's CPU set)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


worker_class = "gthread"
workers = env_int("HYTNAS_WEB_WORKERS", processors(), low=1)
threads = env_int("HYTNAS_WEB_THREADS", 4, low=1)
# Watchers poll every 2 s: keep their connections open longer than that between two polls.
keepalive = 10
# Connections a process holds open at once (idle keep-alive ones included).
worker_connections = 1000
graceful_timeout = 10
# Niceness of the web processes (0-19): they yield the processors to the RQ workers on the same
# machine, so that a crowd of dashboard watchers slows the dashboard rather than the study.
nice = env_int("HYTNAS_WEB_NICE", 5, low=0)


def post_fork(server: object, worker: object) -> None:
    """Lower the worker's priority by ``nice`` (runs in each worker process, after the fork)."""
    if nice:
        os.nice(min(nice, 19))


def post_worker_init(worker: object) -> None:
    """Import every view (and through them the engine's chart code) before the first request.

    Django imports the URLconf lazily, on the first request: seconds of imports (numpy, scipy,
    pymoo) during which every request that arrives waits. A worker that starts while hundreds of
    watchers poll would begin with a backlog it then takes long to drain.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the attribute imports the URLconf and every view)
