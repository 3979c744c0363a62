"""Where RQ holds a job, read from its queues and registries rather than from the job's status field.

A job's hash says ``queued`` from the moment it is enqueued until a worker marks it started, so a job
popped by a worker that died before starting it stays ``queued`` for good while it sits in no queue,
and a job started by a worker that was killed stays ``started``. The lists and registries say where a
job really is: waiting in its queue's list (or scheduled, or deferred), just popped (in no list yet,
or on the queue's intermediate list, for a few seconds at most), or started by a worker that is still
alive. Anything else is a job nobody will run, whatever its hash says.
"""

from __future__ import annotations

import os
import socket
import time
from enum import Enum

#: How long a job may sit popped but not started before it counts as lost. A live worker moves a popped
#: job into its started registry within milliseconds; only a worker that died in between leaves it there.
POP_GRACE_SECONDS = 10.0
POPPED_KEY_PREFIX = "hytnas:popped-first-seen:"
POPPED_STAMP_TTL_SECONDS = 24 * 3600


class JobPlace(Enum):
    """Where a job id was found."""

    WAITING = "waiting"  # in the queue's list, scheduled or deferred
    POPPED = "popped"  # taken by a worker moments ago, not started yet
    STARTED = "started"  # in the started registry, held by a live worker


def job_place(job_id: str, queue_name: str) -> JobPlace | None:
    """Where the job is, or None when no live part of RQ holds it (ended, lost, or never enqueued)."""
    if not job_id:
        return None
    import django_rq

    queue = django_rq.get_queue(queue_name)
    redis = queue.connection
    if redis.lpos(queue.key, job_id) is not None:
        return JobPlace.WAITING
    for registry in (queue.scheduled_job_registry, queue.deferred_job_registry):
        if redis.zscore(registry.key, job_id) is not None:
            return JobPlace.WAITING
    started = [
        execution_id
        for started_id, execution_id in queue.started_job_registry.get_job_and_execution_ids(cleanup=False)
        if started_id == job_id
    ]
    if started:
        alive = any(_execution_alive(redis, job_id, execution_id) for execution_id in started)
        return JobPlace.STARTED if alive else None
    return JobPlace.POPPED if _popped_recently(queue, job_id) else None


def job_is_alive(job_id: str, queue_name: str) -> bool:
    """True when the job waits in a queue, was popped moments ago, or runs on a live worker."""
    return job_place(job_id, queue_name) is not None


def job_is_waiting(job_id: str, queue_name: str) -> bool:
    """True when the job waits to start (queued, scheduled, deferred, or popped moments ago).

    For work held under a lease: a started job keeps its lease fresh, so once the lease has run out
    a job that RQ still holds as started belongs to a worker that died.
    """
    return job_place(job_id, queue_name) in (JobPlace.WAITING, JobPlace.POPPED)


def _popped_recently(queue: object, job_id: str) -> bool:
    """True for a job that exists, sits in no list or registry, and was first seen so just now.

    That is a job a worker has popped and not yet started: with several queues RQ pops with BLPOP,
    which leaves the id in no list at all; with one queue it moves it to the intermediate list, where
    the id also stays after the job ran (so a job in a finished or failed registry is over, not popped).
    The first reconciler pass to see it stamps the time; a job still in that state after
    ``POP_GRACE_SECONDS`` was popped by a worker that died.
    """
    from rq.queue import Queue

    assert isinstance(queue, Queue)
    redis = queue.connection
    for registry in (queue.finished_job_registry, queue.failed_job_registry, queue.canceled_job_registry):
        if redis.zscore(registry.key, job_id) is not None:
            return False
    if not redis.exists(queue.job_class.key_for(job_id)):
        return False
    stamp = f"{POPPED_KEY_PREFIX}{job_id}"
    if redis.set(stamp, time.time(), nx=True, ex=POPPED_STAMP_TTL_SECONDS):
        return True
    first_seen = redis.get(stamp)
    return first_seen is not None and time.time() - float(first_seen) < POP_GRACE_SECONDS


def _execution_alive(redis: object, job_id: str, execution_id: str) -> bool:
    """True when the worker running this execution of the job is still alive."""
    from redis import Redis
    from rq.executions import Execution

    assert isinstance(redis, Redis)
    try:
        execution = Execution.fetch(execution_id, job_id, connection=redis)
    except ValueError:  # its hash expired: no worker has kept it up
        return False
    # A worker that lost Redis mid-job and registered again no longer lists the old execution as its own.
    if not redis.sismember(execution.worker_executions_key, execution.composite_key):
        return False
    return worker_alive(redis, execution.worker_name)


def redis_text(answer: bytes | str) -> str:
    """A Redis answer as text: RQ's connections answer bytes (redis-py's types allow a decoding one's str)."""
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def worker_alive(redis: object, worker_name: str) -> bool:
    """True when the RQ worker of this name is registered, has not died, and (on this host) its process runs.

    A worker killed with SIGKILL never records its death; its key outlives it until its TTL runs
    out, so on this machine the process itself is asked. Workers on other hosts are taken at their key.
    """
    from redis import Redis
    from rq.worker import Worker

    assert isinstance(redis, Redis)
    if not worker_name:
        return False
    data = redis.hgetall(Worker.redis_worker_namespace_prefix + worker_name)
    if not data or b"death" in data:
        return False
    if redis_text(data.get(b"hostname", b"")) == socket.gethostname():
        pid = int(data.get(b"pid") or 0)
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process, alive
    return True
