"""Reconciling the database with the queue, so a lost job never stalls a study."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hytnas_web.studies.models import Iteration, Study
from hytnas_web.studies.services.scheduling import schedule_current


def reconcile() -> list[str]:
    """Re-enqueue running studies whose current iteration has no live job; returns what it did.

    Runs periodically and when a worker starts, so a lost job, a killed worker or an emptied Redis
    never stalls a study: the database says what should be running, the queue is made to agree.
    """
    actions = []
    for study in Study.objects.filter(status=Study.Status.RUNNING):
        current = study.iterations.order_by("-index").first()
        if current is not None and current.status == Iteration.Status.FAILED:
            continue
        if current is None or current.status == Iteration.Status.DONE or not _has_live_job(current):
            with transaction.atomic():
                locked = Study.objects.select_for_update().get(pk=study.pk)
                if locked.status == Study.Status.RUNNING:
                    schedule_current(locked)
                    actions.append(f"study {study.pk}: re-enqueued")
    return actions


def _has_live_job(iteration: Iteration) -> bool:
    """True when a queued job exists for the iteration, or a running one keeps its heartbeat fresh."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    stale = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    if iteration.status == Iteration.Status.RUNNING:
        return iteration.heartbeat_at is not None and iteration.heartbeat_at > stale
    if not iteration.job_id:
        return False
    import django_rq

    try:
        job = Job.fetch(iteration.job_id, connection=django_rq.get_connection(settings.ITERATION_QUEUE))
    except NoSuchJobError:
        return False
    return job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
