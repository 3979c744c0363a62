"""Measuring architectures outside the iteration job: on the evaluations queue, or on remote workers.

An iteration proposes a batch, then hands its pending evaluations out according to the evaluator's
``DISPATCH``: ``inline`` evaluators are measured by the iteration job itself, ``queue`` evaluators get
one RQ job per architecture on the evaluations queue (any worker that reaches the same Redis and
database may take it), ``remote`` evaluators wait in the database for a worker that claims them over
the JSON API. Whoever measures an architecture records it here; the last result of an iteration
puts the iteration back on its queue, where ``run_iteration`` finishes it.

A worker holds an evaluation under a lease (``lease_expires_at``): an evaluation job refreshes it
while it measures, a remote worker extends it over the API. An evaluation whose lease ran out is
free again, so a killed worker costs a re-measurement, never a lost iteration.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Iteration, Lease, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.heartbeat import Pulse
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.outages import service_unavailable
from hytnas_web.studies.services.queue_state import job_is_waiting
from hytnas_web.studies.services.scheduling import (
    Enqueueing,
    dispatch_of,
    enqueue_iteration,
    enqueue_measurement,
    in_flight_target,
    keep_in_flight,
)
from hytnas_web.studies.services.versions import bump_version
from search_engine.devices import describe_device
from search_engine.types import EvaluationResult

logger = logging.getLogger(__name__)


def study_dispatch(study: Study) -> str:
    """Where a stored study's evaluator runs: ``inline``, ``queue`` or ``remote`` (see the evaluator base).

    ``inline`` for an evaluator this installation no longer has: the iteration job then reports why
    it cannot build it.
    """
    return dispatch_of(study.config)


def free_pending(owner: Iteration | Study) -> list[Evaluation]:
    """The iteration's (or study's) pending evaluations that nobody holds (no lease, or an expired one)."""
    now = timezone.now()
    return list(
        owner.evaluations.filter(status=Evaluation.Status.PENDING)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .order_by("iteration_id", "position")
    )


def requeue_lost_evaluations(study: Study) -> int:
    """Give an evaluation job to each pending evaluation of the study that nobody holds or has queued.

    For studies keeping N in flight on the evaluations queue, whose proposals are done (and so no
    longer looked at by the reconciler) while their evaluations are measured: a job lost with a
    killed worker or an emptied Redis is replaced. Returns how many were enqueued.
    """
    if dispatch_of(study.config) != "queue":
        return 0
    with transaction.atomic():
        lost = [e for e in free_pending(study) if not job_is_waiting(e.job_id, settings.EVALUATION_QUEUE)]
        for evaluation in lost:
            enqueue_evaluation(evaluation)
    return len(lost)


def hand_out_pending(iteration: Iteration, dispatch: str) -> int:
    """Mark the iteration as waiting for its evaluations and hand them out; returns how many are pending.

    ``queue``: every free pending evaluation without a waiting job gets an evaluation job, enqueued once
    the transaction commits. ``remote``: nothing to do, workers come and claim them.
    """
    with transaction.atomic():
        # The row lock orders this against a concurrent last result (see _finish_when_measured).
        Iteration.objects.select_for_update().filter(pk=iteration.pk).first()
        pending = iteration.evaluations.filter(status=Evaluation.Status.PENDING).count()
        if pending == 0:
            return 0
        Iteration.objects.filter(pk=iteration.pk).update(
            status=Iteration.Status.EVALUATING, heartbeat_at=None, version=bump_version(iteration.study_id)
        )
        if dispatch == "queue":
            for evaluation in free_pending(iteration):
                if not job_is_waiting(evaluation.job_id, settings.EVALUATION_QUEUE):
                    enqueue_evaluation(evaluation)
    return pending


def enqueue_evaluation(evaluation: Evaluation) -> Enqueueing:
    """Put ``run_evaluation`` for this evaluation on the evaluations queue once the transaction commits."""
    pending = Evaluation.objects.filter(pk=evaluation.pk, status=Evaluation.Status.PENDING)
    return enqueue_measurement(
        f"evaluation {evaluation.pk} of study {evaluation.study_id}",
        "hytnas_web.studies.jobs.run_evaluation",
        evaluation.pk,
        lambda job_id: pending.update(job_id=job_id),
    )


def run_evaluation(evaluation_id: int, job_id: str = "") -> str:
    """Measure one pending evaluation on this machine and record it (the evaluations queue's job).

    Idempotent: an evaluation already measured, one held by another live worker or one of a study
    that is no longer running is left alone. Returns what happened, in words.
    """
    claimed = _claim_for_job(evaluation_id, job_id)
    if isinstance(claimed, str):
        return claimed
    evaluation = claimed

    def beat() -> None:
        Evaluation.objects.filter(pk=evaluation.pk, status=Evaluation.Status.PENDING, job_id=job_id).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        )

    with Pulse(beat):
        try:
            evaluator = study_config(evaluation.study).build_evaluator()
            [result] = evaluator.evaluate([evaluation.architecture])
        except Exception as exc:  # a broken configuration fails this evaluation, in words
            logger.exception("evaluation %s could not be measured", evaluation_id)
            result = EvaluationResult.failure(f"could not be measured: {type(exc).__name__}: {exc}")
    recorded = record_results_surviving([evaluation], [result], describe_device())
    outcome = "measured" if result.ok else f"failed ({result.error})"
    return outcome if recorded else f"{outcome}, but another worker had recorded it first"


def _claim_for_job(evaluation_id: int, job_id: str) -> Evaluation | str:
    """Hold the evaluation for this job, or say why not."""
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update().select_related("study").filter(pk=evaluation_id).first()
        )
        if evaluation is None:
            return "no such evaluation"
        if evaluation.status != Evaluation.Status.PENDING:
            return f"evaluation already {evaluation.status}"
        if evaluation.study.status != Study.Status.RUNNING and not _measured_once_completed(evaluation):
            return f"study is {evaluation.study.status}"
        now = timezone.now()
        held = evaluation.lease_expires_at is not None and evaluation.lease_expires_at > now
        if held and (evaluation.lease_id is not None or evaluation.job_id != job_id):
            return "another worker is measuring it"
        evaluation.lease = None
        evaluation.job_id = job_id
        evaluation.lease_expires_at = now + timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        evaluation.attempts += 1
        evaluation.save(update_fields=["lease", "job_id", "lease_expires_at", "attempts"])
    return evaluation


MEASURED_ONCE_COMPLETED = ("predictor",)
"""Origins of evaluations measured even once their study completed: a latency predictor's front
(``services.latency_predictor``), queued outside any iteration and asked for by the owner."""


def _measured_once_completed(evaluation: Evaluation) -> bool:
    return evaluation.study.status == Study.Status.COMPLETED and evaluation.origin in MEASURED_ONCE_COMPLETED


RESULT_FIELDS = [
    "status",
    "objectives",
    "stage_latency",
    "metrics",
    "error",
    "seconds",
    "device",
    "lease",
    "lease_expires_at",
    "finished_at",
    "version",
]
"""The columns a measurement (or failure) writes into its evaluation."""


def record_result(
    evaluation: Evaluation, result: EvaluationResult, device: dict[str, Any], lease: Lease | None = None
) -> bool:
    """Write one measurement (or failure) of a still-pending evaluation; False when it was no longer pending.

    When it was the iteration's last pending evaluation and the iteration waits for its evaluations,
    the iteration goes back on its queue to be finished.
    """
    return record_results([evaluation], [result], device, lease) == 1


def record_results(
    evaluations: Sequence[Evaluation],
    results: Sequence[EvaluationResult],
    device: dict[str, Any],
    lease: Lease | None = None,
) -> int:
    """Write the measurements of evaluations of one study in one transaction; returns how many were written.

    Only evaluations still pending are written: they are locked and read first, so a concurrent
    writer of the same one waits and then finds it measured; the others keep what they hold. One
    version stamps the whole batch, and what the results set going (the iteration's finish, the next
    proposal) is decided once, after the last of them. The rows go back in one statement, an upsert
    on the primary key that only ever meets existing rows: it is the bulk write Django makes cheap
    on SQLite and PostgreSQL alike (``bulk_update`` builds a CASE per row and column, ten times slower).
    """
    result_of = {evaluation.pk: result for evaluation, result in zip(evaluations, results, strict=True)}
    with transaction.atomic():
        pending = list(
            Evaluation.objects.select_for_update()
            .filter(pk__in=list(result_of), status=Evaluation.Status.PENDING)
            .order_by("id")
        )
        if not pending:
            return 0
        version = bump_version(evaluations[0].study_id)
        finished_at = timezone.now()
        for row in pending:
            _write_result(row, result_of[row.pk], device, lease)
            row.finished_at, row.version = finished_at, version
        Evaluation.objects.bulk_create(
            pending, update_conflicts=True, unique_fields=["id"], update_fields=RESULT_FIELDS
        )
        _schedule_after_result(evaluations[0])
    return len(pending)


def _write_result(
    row: Evaluation, result: EvaluationResult, device: dict[str, Any], lease: Lease | None
) -> None:
    """Set a measurement's columns on its row (saved by the caller)."""
    row.status = Evaluation.Status.DONE if result.ok else Evaluation.Status.FAILED
    row.objectives = list(result.objectives) if result.ok and result.objectives is not None else None
    row.stage_latency = jsonable(dict(result.stage_latency)) if result.stage_latency is not None else None
    row.metrics = jsonable(dict(result.metrics))
    row.error = result.error or ""
    row.seconds = result.seconds
    row.device = jsonable(device)
    row.lease = lease
    row.lease_expires_at = None


def _schedule_after_result(evaluation: Evaluation) -> None:
    """What a recorded result sets going: the iteration's finish, or (N in flight) the next proposal.

    Called inside the transaction that wrote the result. A study keeping N in flight decides under
    its row lock (``keep_in_flight``), so concurrent results are serialised and never over-propose.
    """
    config, status = Study.objects.values_list("config", "status").get(pk=evaluation.study_id)
    if evaluation.iteration_id is None and status == Study.Status.COMPLETED:
        # Measured once its study completed (a latency predictor's front): no iteration or proposal
        # follows to count it, so the study's current hypervolume is brought up to date here.
        from hytnas_web.studies.services.latency_predictor import refresh_completed_hypervolume

        refresh_completed_hypervolume(evaluation.study_id)
    elif in_flight_target(config) is not None:
        keep_in_flight(Study.objects.select_for_update().get(pk=evaluation.study_id))
    elif evaluation.iteration_id is not None:
        _finish_when_measured(evaluation.iteration_id)


def record_results_surviving(
    evaluations: Sequence[Evaluation], results: Sequence[EvaluationResult], device: dict[str, Any]
) -> int:
    """``record_results``, tried once more on a fresh connection when the first one was lost.

    The measurements are in hand and may have taken minutes: a terminated connection (a database
    restart, a failover) must not throw them away. A database that is still away fails the second
    try too; the error then goes to the caller, and the evaluations are measured again later.
    """
    try:
        return record_results(evaluations, results, device)
    except Exception as exc:
        if not service_unavailable(exc):
            raise
        logger.warning(
            "evaluations %s: writing their results again on a new connection (%s)",
            ", ".join(str(e.pk) for e in evaluations),
            exc,
        )
        connections.close_all()
        return record_results(evaluations, results, device)


def _finish_when_measured(iteration_id: int) -> None:
    """Enqueue the iteration's finish once none of its evaluations is pending.

    Called inside the transaction that wrote the result. The iteration's row lock orders it against
    ``hand_out_pending``: whichever comes second sees the other's write, so the finish is never
    left to the reconciler.
    """
    iteration = Iteration.objects.select_for_update().filter(pk=iteration_id).first()
    if iteration is None or iteration.status != Iteration.Status.EVALUATING:
        return  # measured by the iteration job itself, which finishes it
    if not iteration.evaluations.filter(status=Evaluation.Status.PENDING).exists():
        enqueue_iteration(iteration)


def iteration_stalled(iteration: Iteration, dispatch: str) -> bool:
    """True when a waiting iteration needs its job again: all measured, or (queue) work nobody holds."""
    if not iteration.evaluations.filter(status=Evaluation.Status.PENDING).exists():
        return True
    if dispatch != "queue":
        return False  # remote work waits for workers as long as it takes
    return any(not job_is_waiting(e.job_id, settings.EVALUATION_QUEUE) for e in free_pending(iteration))
