"""RQ worker classes that outlive Redis outages and never reuse a dead database connection.

A worker reconciles the queue with the database when it starts and each time it gets Redis back,
so restarting workers (or restarting Redis) is enough to get stalled studies moving again. RQ's own
work loop exits on most Redis errors (and on any error while it registers or unregisters itself);
these classes wait for Redis with back-off instead and start the loop again under the same name.
Before each job, database connections that went stale or broke (a database restart, a terminated
backend) are closed so the job opens a fresh one; a forking worker closes its own before forking,
so the work horse never shares the parent's connection.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from typing import Any

from django.db import close_old_connections, connections
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker, Worker, WorkerStatus

from hytnas_web.studies import services
from hytnas_web.studies.services.evaluator_cache import keep_study_evaluator
from hytnas_web.studies.services.scheduling import ITERATION_JOB, QUEUE_UNREACHABLE

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 5.0
HEALTHY_RUN_SECONDS = 60.0
"""A work loop that ran this long before it ended was healthy: the back-off starts from the first step."""


class _Resilient:
    """Mixed into an RQ worker class: reconcile on start, survive Redis outages, fresh DB connections."""

    # Attributes of rq's BaseWorker, declared for the type checker.
    connection: Any
    name: str
    ip_address: str
    executions: dict[str, Any]
    pubsub: Any
    pubsub_thread: Any
    _state: str
    _shutdown_requested_date: Any

    # RQ's own retry while an idle worker waits for jobs: the same ceiling as the loop's back-off.
    max_connection_wait_time = MAX_RETRY_SECONDS

    def _set_ip_address(self, connection: Any) -> None:
        """RQ asks Redis for this worker's address at construction: without Redis, the worker still starts."""
        try:
            super()._set_ip_address(connection)  # type: ignore[misc]
        except QUEUE_UNREACHABLE:
            self.ip_address = "unknown"

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's work loop, started again after Redis comes back, until a requested stop or a normal end."""
        burst = bool(kwargs.get("burst", args[0] if args else False))
        ends_by_itself = (
            burst or kwargs.get("max_jobs") is not None or kwargs.get("max_idle_time") is not None
        )
        worked = False
        delay = FIRST_RETRY_SECONDS
        when = "worker start"
        while True:
            _reconcile(when)
            when = "Redis back"
            began = time.monotonic()
            lost: BaseException | None = None
            try:
                worked = super().work(*args, **kwargs) or worked  # type: ignore[misc]
            except QUEUE_UNREACHABLE as exc:
                lost = exc
            if self._shutdown_requested_date is not None or (lost is None and ends_by_itself):
                return worked
            if time.monotonic() - began > HEALTHY_RUN_SECONDS:
                delay = FIRST_RETRY_SECONDS
            logger.warning(
                "worker %s: work loop ended (%s); waiting for Redis, then starting again",
                self.name,
                lost or "see the error above",
            )
            if not self._wait_for_redis(delay):
                return worked
            delay = min(delay * 2, MAX_RETRY_SECONDS)
            self._register_again()

    def _wait_for_redis(self, delay: float) -> bool:
        """Wait ``delay``, then until Redis answers (doubling the wait); False when asked to stop."""
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())  # RQ installs its own again when the loop starts
        while not stop.wait(delay):
            try:
                self.connection.ping()
            except QUEUE_UNREACHABLE as exc:
                logger.warning(
                    "worker %s: Redis still unreachable (%s); next try in %.0f s", self.name, exc, delay
                )
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                continue
            logger.info("worker %s: Redis answers again", self.name)
            return True
        return False

    def _register_again(self) -> None:
        """Drop what the ended loop left behind, so RQ's start-up can register this worker's name again."""
        self.executions.clear()
        self._state = WorkerStatus.IDLE
        if self.pubsub_thread is not None:  # its channel died with the old connection: start a new one
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=1)
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except Exception:
                logger.debug("worker %s: old pubsub channel already gone", self.name, exc_info=True)
        self.pubsub = None
        self.pubsub_thread = None
        with contextlib.suppress(*QUEUE_UNREACHABLE):  # gone again: the next start-up fails and waits
            self.register_death()  # type: ignore[attr-defined]

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job on a database connection that is known to work."""
        close_old_connections()
        super().execute_job(job, queue)  # type: ignore[misc]


def _reconcile(when: str) -> None:
    """Bring the queue in line with the database; the worker comes up even when either is away."""
    close_old_connections()
    try:
        for action in services.reconcile():
            logger.info("reconcile on %s: %s", when, action)
    except Exception:
        logger.exception("reconcile on %s failed", when)
        connections.close_all()


class ReconcilingWorker(_Resilient, Worker):
    """The default worker: a forked work horse per job."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork without an open database connection: parent and horse must never share one.

        An iteration's inline evaluator is built here first and kept, so each horse inherits it fitted
        instead of fitting it again for every iteration (``services.evaluator_cache``).
        """
        if job.func_name == ITERATION_JOB and job.args:
            keep_study_evaluator(int(job.args[0]))
        connections.close_all()
        super().fork_work_horse(job, queue)


class ReconcilingSimpleWorker(_Resilient, SimpleWorker):
    """Runs jobs in its own process (no fork): lighter, used by tests and small machines."""
