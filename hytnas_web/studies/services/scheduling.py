"""Putting iterations on the queue, once the transaction that made them commits."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hytnas_web.studies.models import Iteration, Study
from search_engine.optimizer import iteration_seed


def schedule_current(study: Study) -> None:
    """Enqueue the study's unfinished iteration, creating the next one if the last is done."""
    current = study.iterations.order_by("-index").first()
    if current is None:
        current = Iteration.objects.create(study=study, index=0, seed=iteration_seed(study.seed, 0))
    elif current.status == Iteration.Status.DONE:
        if finish_if_budget_spent(study):
            return
        current = Iteration.objects.create(
            study=study, index=current.index + 1, seed=iteration_seed(study.seed, current.index + 1)
        )
    enqueue_iteration(current)


def enqueue_iteration(iteration: Iteration) -> None:
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
        Iteration.objects.filter(study_id=study_id, index=index).exclude(
            status=Iteration.Status.RUNNING
        ).update(job_id=job.id)

    transaction.on_commit(enqueue)


def finish_if_budget_spent(study: Study) -> bool:
    """Complete the study when its evaluations reach the budget; True when it did."""
    if study.evaluations.count() < study.budget:
        return False
    Study.objects.filter(pk=study.pk, status=Study.Status.RUNNING).update(
        status=Study.Status.COMPLETED, updated_at=timezone.now()
    )
    study.status = Study.Status.COMPLETED
    return True


def job_is_alive(job_id: str, queue_name: str) -> bool:
    """True when an RQ job with this id is queued, scheduled, deferred or running."""
    return _job_status(job_id, queue_name) in ("queued", "started", "scheduled", "deferred")


def job_is_waiting(job_id: str, queue_name: str) -> bool:
    """True when an RQ job with this id waits to start (queued, scheduled or deferred).

    For work held under a lease: a started job keeps its lease fresh, so once the lease has run out
    a job that RQ still calls "started" belongs to a worker that died.
    """
    return _job_status(job_id, queue_name) in ("queued", "scheduled", "deferred")


def _job_status(job_id: str, queue_name: str) -> str | None:
    if not job_id:
        return None
    import django_rq
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection(queue_name))
    except NoSuchJobError:
        return None
    status = job.get_status()
    return None if status is None else str(status.value if hasattr(status, "value") else status)
