"""Reconciling the database with the queue, so a lost job never stalls a study."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hytnas_web.studies.models import Iteration, Study
from hytnas_web.studies.services.evaluations import (
    iteration_stalled,
    requeue_lost_evaluations,
    study_dispatch,
)
from hytnas_web.studies.services.noisy import requeue_lost_remeasurements
from hytnas_web.studies.services.queue_state import job_is_alive, job_is_waiting
from hytnas_web.studies.services.scheduling import (
    current_iteration,
    in_flight_target,
    proposal_due,
    rerun_waiting,
    schedule_current,
)


def reconcile() -> list[str]:
    """Re-enqueue running studies whose current iteration has no live job; returns what it did.

    Runs periodically and when a worker starts, so a lost job, a killed worker, an emptied or
    restarted Redis, or work that could not be enqueued while Redis was away never stalls a study:
    the database says what should be running, the queue is made to agree. Whether a job is alive is
    read from RQ's queues and registries (see ``queue_state``), never from the job's status field,
    which still says "queued" for a job popped by a worker that died before starting it. An
    iteration waiting for its evaluations is re-enqueued when they are all measured (its finish was
    lost) or, on the evaluations queue, when one is neither held by a live worker nor queued; the
    iteration job then hands the evaluation out again. A study keeping N in flight is left alone
    while its proposals are done and its work is out, unless a result's trigger was lost (a proposal
    or its completion is due) or an evaluation job was lost. Raises when Redis or the database
    cannot be reached (Redis is asked first, so an outage costs one refused connection, not one per
    study); the caller retries later. Re-measurements of noisy measurements that no live job holds
    are given out again too, whatever their study's status.
    """
    import django_rq

    django_rq.get_connection(settings.ITERATION_QUEUE).ping()
    actions = requeue_lost_remeasurements()
    for study in Study.objects.filter(status=Study.Status.RUNNING):
        current = current_iteration(study)
        if current is not None and current.status == Iteration.Status.FAILED:
            continue
        if current is not None and current.status == Iteration.Status.DONE and in_flight_target(study.config):
            # Keeping N in flight: done proposals still have work out; only a lost trigger needs us.
            if requeue_lost_evaluations(study):
                actions.append(f"study {study.pk}: evaluations re-enqueued")
            if not proposal_due(study):
                continue
        if current is None or current.status == Iteration.Status.DONE or _stalled(current, study):
            with transaction.atomic():
                locked = Study.objects.select_for_update().get(pk=study.pk)
                if locked.status != Study.Status.RUNNING:
                    continue
                enqueueing = schedule_current(locked)
            if enqueueing is None:
                actions.append(f"study {study.pk}: completed")
            elif enqueueing.failed:
                actions.append(f"study {study.pk}: due, but the queue is unreachable")
            else:
                actions.append(f"study {study.pk}: re-enqueued")
    return actions


def _stalled(iteration: Iteration, study: Study) -> bool:
    """True when nothing alive is working on the iteration."""
    if iteration.status == Iteration.Status.EVALUATING:
        # Its job, if any, has handed the work out already: only one still waiting to start counts.
        return iteration_stalled(iteration, study_dispatch(study)) and not job_is_waiting(
            iteration.job_id, settings.ITERATION_QUEUE
        )
    if iteration.status == Iteration.Status.RUNNING:
        stale = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        lost = iteration.heartbeat_at is None or iteration.heartbeat_at <= stale
        # Its job's id stays on the row while it runs: a re-run enqueued by an earlier pass is asked apart.
        return lost and not rerun_waiting(iteration)
    return not job_is_alive(iteration.job_id, settings.ITERATION_QUEUE)
