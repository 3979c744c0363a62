"""Putting iterations on the queue, once the transaction that made them commits.

The database says what should run; Redis only carries it. Work that cannot be enqueued because Redis
is unreachable stays due in the database (an unfinished iteration whose job no queue holds), and the
reconciler enqueues it once Redis answers again: an enqueue failure is logged, never raised into the
iteration or the request that scheduled it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hytnas_web.studies.models import Iteration, Study
from hytnas_web.studies.services.queue_state import job_is_alive, job_is_waiting, redis_text
from search_engine.optimizer import iteration_seed

logger = logging.getLogger(__name__)

QUEUE_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""Redis errors of a server that is down, restarting or out of reach (BusyLoadingError is one too)."""

__all__ = [
    "QUEUE_UNREACHABLE",
    "Enqueueing",
    "current_iteration",
    "enqueue_iteration",
    "enqueue_on_commit",
    "finish_if_budget_spent",
    "job_is_alive",
    "job_is_waiting",
    "rerun_key",
    "rerun_waiting",
    "schedule_current",
]


@dataclass
class Enqueueing:
    """What became of work handed to the queue at commit: ``queued`` is None until the transaction commits."""

    queued: bool | None = None

    @property
    def failed(self) -> bool:
        """True when the queue could not be reached; the work waits in the database for the reconciler."""
        return self.queued is False


def enqueue_on_commit(what: str, enqueue: Callable[[], None]) -> Enqueueing:
    """Run ``enqueue`` once the current transaction commits; an unreachable Redis is logged, not raised."""
    outcome = Enqueueing()

    def run() -> None:
        try:
            enqueue()
        except QUEUE_UNREACHABLE as exc:
            outcome.queued = False
            logger.warning("could not enqueue %s (%s); it stays due for the reconciler", what, exc)
        else:
            outcome.queued = True

    transaction.on_commit(run)
    return outcome


def current_iteration(study: Study) -> Iteration | None:
    """The study's earliest unfinished iteration, else its latest one (None before the first).

    Normally only the latest can be unfinished; an older one left behind (a lost finish, a retry of a
    study that failed on a service error) is run first, so a study never ends with work inside it.
    """
    unfinished = study.iterations.exclude(status=Iteration.Status.DONE).order_by("index").first()
    return unfinished if unfinished is not None else study.iterations.order_by("-index").first()


def schedule_current(study: Study) -> Enqueueing | None:
    """Enqueue the study's current iteration, creating the next one if all are done.

    Returns what became of the enqueueing, or None when the study completed instead.
    """
    current = current_iteration(study)
    if current is None:
        current = Iteration.objects.create(study=study, index=0, seed=iteration_seed(study.seed, 0))
    elif current.status == Iteration.Status.DONE:
        if finish_if_budget_spent(study):
            return None
        current = Iteration.objects.create(
            study=study, index=current.index + 1, seed=iteration_seed(study.seed, current.index + 1)
        )
    return enqueue_iteration(current)


def enqueue_iteration(iteration: Iteration) -> Enqueueing:
    """Put ``run_iteration`` for this iteration on the queue once the current transaction commits."""
    study_id, index = iteration.study_id, iteration.index

    def enqueue() -> None:
        import django_rq

        queue = django_rq.get_queue(settings.ITERATION_QUEUE)
        job = queue.enqueue(
            "hytnas_web.studies.jobs.run_iteration",
            study_id,
            index,
            job_timeout=settings.RQ_QUEUES[settings.ITERATION_QUEUE]["DEFAULT_TIMEOUT"],
            description=f"study {study_id} iteration {index}",
        )
        updated = (
            Iteration.objects.filter(study_id=study_id, index=index)
            .exclude(status=Iteration.Status.RUNNING)
            .update(job_id=job.id)
        )
        if not updated:
            # A running iteration keeps the id of the job that runs it; the re-run waiting behind it is
            # remembered beside it, so the reconciler does not enqueue one more on every pass.
            queue.connection.set(rerun_key(study_id, index), job.id, ex=RERUN_MEMORY_SECONDS)

    return enqueue_on_commit(f"study {study_id} iteration {index}", enqueue)


RERUN_MEMORY_SECONDS = 24 * 3600
"""How long Redis remembers the re-run enqueued for a running iteration (the job itself lives as long)."""


def rerun_key(study_id: int, index: int) -> str:
    """Redis key holding the id of the job enqueued to take over a running iteration."""
    return f"hytnas:iteration-rerun:{study_id}:{index}"


def rerun_waiting(iteration: Iteration) -> bool:
    """True when a job enqueued to take over this running iteration still waits to start."""
    import django_rq

    connection = django_rq.get_connection(settings.ITERATION_QUEUE)
    job_id = connection.get(rerun_key(iteration.study_id, iteration.index))
    return job_id is not None and job_is_waiting(redis_text(job_id), settings.ITERATION_QUEUE)


def finish_if_budget_spent(study: Study) -> bool:
    """Complete the study when its evaluations reach the budget; True when it did.

    Never while an iteration is unfinished: its pending evaluations count towards the budget, so the
    budget looks spent before they are measured.
    """
    if study.evaluations.count() < study.budget:
        return False
    if study.iterations.exclude(status=Iteration.Status.DONE).exists():
        return False
    Study.objects.filter(pk=study.pk, status=Study.Status.RUNNING).update(
        status=Study.Status.COMPLETED, updated_at=timezone.now()
    )
    study.status = Study.Status.COMPLETED
    return True
