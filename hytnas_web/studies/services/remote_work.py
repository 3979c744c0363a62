"""Work for evaluation workers that reach only the web app: claim with a lease, extend it, report.

Pending evaluations of running studies measured outside the studio wait in the database: ``remote``
studies (the torch measurement of ``python -m search_engine.worker``) and ``external`` ones (the
user's own evaluation, through ``search_engine.client``); a claim names the kind it takes, and gets
each architecture decoded and as a cube point, with the study's objectives. A claim for remote work
may list the runtimes the worker can measure latency in: a study measured in another runtime keeps
its work for a worker that has it, and the claim's ``refused`` says what this one lacks. A worker
claims a batch under a lease, which it extends while it measures; when the lease runs out the
evaluations are free again, for it or for another worker. A report is recorded once: the same
report again (same lease) is acknowledged without writing, a report for an evaluation another lease
already reported is refused as late. A report under an expired lease is still taken while the
evaluation is pending, since a measurement made is worth keeping.

Refusals are domain errors (``NotFound``, ``Forbidden``, ``LeaseLost``, ``LateReport``,
``UnknownLease``); the API's views choose the HTTP status for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Lease, Study, WorkerToken
from hytnas_web.studies.services.api_payloads import (
    ClaimRequest,
    EvaluatorSpec,
    ObjectiveView,
    RefusedStudy,
    ReportOutcome,
    ReportRequest,
    StudyRef,
    WorkItem,
    WorkKind,
    checked,
    declared_values,
)
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.evaluations import record_result
from hytnas_web.studies.services.tokens import token_reaches, token_studies
from hytnas_web.studies.services.versions import bump_version
from search_engine.evaluators import onnx_runtime
from search_engine.evaluators.external import MeasuredOutside
from search_engine.evaluators.torch_model import RUNTIME_LABELS
from search_engine.registry import EVALUATORS
from search_engine.types import EvaluationResult

#: How long a worker that found nothing should wait before asking again.
RETRY_AFTER_SECONDS = 10


class Refused(Exception):
    """A request turned down on the state of things (what exists, who holds it); says why in words."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(Refused):
    """No such evaluation or lease."""


class Forbidden(Refused):
    """The token does not reach this study, or the lease was given to another token."""


class UnknownLease(Refused):
    """A report names a lease that does not exist: the body is wrong, not the address."""


class LeaseLost(Refused):
    """The lease holds no pending evaluation any more: expired and given away, or all reported."""


class LateReport(Refused):
    """Another lease reported this evaluation first."""


@dataclass(frozen=True)
class Claim:
    """A lease and the evaluations it holds (none when there was nothing to do).

    ``studies_running``: how many running studies of the claimed kind the claim could take from; 0
    tells a worker that no more work will come unless a study is started or resumed. ``refused``:
    the running studies it left alone because the worker lacks their runtime.
    """

    lease: Lease | None
    evaluations: list[WorkItem]
    studies_running: int
    refused: list[RefusedStudy] = field(default_factory=list)


def remote_studies(token: WorkerToken, kind: WorkKind = "remote") -> Any:
    """Running studies of evaluator ``kind`` (measured by workers) whose work the token may take."""
    return token_studies(token).filter(status=Study.Status.RUNNING, evaluator_name=kind)


def claim_evaluations(token: WorkerToken, request: ClaimRequest) -> Claim:
    """Hold up to ``request.max_evaluations`` free pending evaluations for ``request.lease_seconds``."""
    studies = remote_studies(token, request.evaluator)
    if request.study is not None:
        if not token_studies(token).filter(pk=request.study).exists():
            raise Forbidden(f"this token does not give access to study {request.study}", "study")
        studies = studies.filter(pk=request.study)
    refused: list[RefusedStudy] = []
    if request.evaluator == "remote" and request.runtimes is not None:
        studies, refused = _measurable(studies, request.runtimes)
    running = studies.count()
    now = timezone.now()
    with transaction.atomic():
        free = (
            Evaluation.objects.select_for_update(skip_locked=True)
            .filter(study__in=studies, status=Evaluation.Status.PENDING)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .order_by("id")[: request.max_evaluations]
        )
        chosen = list(free)
        if not chosen:
            return Claim(None, [], running, refused)
        expires = now + timedelta(seconds=request.lease_seconds)
        lease = Lease.objects.create(token=token, device=request.device or {}, expires_at=expires)
        for study_id in {e.study_id for e in chosen}:
            version = bump_version(study_id)
            for evaluation in chosen:
                if evaluation.study_id == study_id:
                    evaluation.lease = lease
                    evaluation.lease_expires_at = expires
                    evaluation.job_id = ""
                    evaluation.attempts += 1
                    evaluation.version = version
        Evaluation.objects.bulk_update(chosen, ["lease", "lease_expires_at", "job_id", "attempts", "version"])
    return Claim(lease, _work_items(chosen), running, refused)


def _measurable(studies: Any, runtimes: Sequence[str]) -> tuple[Any, list[RefusedStudy]]:
    """The studies measured in one of ``runtimes``, and why each of the others is left alone."""
    measurable: list[int] = []
    refused: list[RefusedStudy] = []
    for study in studies.order_by("id"):
        runtime = _study_runtime(study)
        if runtime is None or runtime in runtimes:
            measurable.append(study.pk)
        else:
            message = _refusal_message(study, runtime, runtimes)
            refused.append(
                RefusedStudy(study=StudyRef(id=study.pk, name=study.name), runtime=runtime, message=message)
            )
    return studies.filter(pk__in=measurable), refused


def _study_runtime(study: Study) -> str | None:
    """The runtime the study's evaluator measures latency in (its declared default when unset).

    None: the evaluator has no runtime setting.
    """
    spec = study.evaluator
    params = EVALUATORS.resolve(spec["name"], spec.get("params") or {}, "evaluator")
    runtime = params.get("runtime")
    return None if runtime is None else str(runtime)


def _refusal_message(study: Study, runtime: str, runtimes: Sequence[str]) -> str:
    """What the worker lacks to measure ``study`` and how to give it, or how to change the study."""
    how = onnx_runtime.install_hint() if runtime == "onnxruntime" else f"install {runtime}"
    message = (
        f"study {study.pk} {study.name!r} measures latency in {RUNTIME_LABELS.get(runtime, runtime)}, "
        f"which this worker does not have: {how}"
    )
    instead = [name for name in RUNTIME_LABELS if name in runtimes]
    if instead:
        message += f" (or set the study's runtime to {' or '.join(instead)})"
    return message


def _measured_outside(study: Study) -> MeasuredOutside:
    """The evaluator of a study whose work workers claim (only such studies are ever claimed from)."""
    evaluator = study_config(study).build_evaluator()
    assert isinstance(evaluator, MeasuredOutside), f"study {study.pk} is not measured by workers"
    return evaluator


def _work_items(evaluations: list[Evaluation]) -> list[WorkItem]:
    """What a worker needs to measure each evaluation: the architecture and how to measure it."""
    studies = {study.pk: study for study in Study.objects.filter(pk__in={e.study_id for e in evaluations})}
    evaluators = {pk: _measured_outside(study) for pk, study in studies.items()}
    return [
        WorkItem(
            id=evaluation.pk,
            study=StudyRef(id=evaluation.study_id, name=studies[evaluation.study_id].name),
            key=evaluation.key,
            architecture=evaluation.architecture,
            x=evaluation.x,
            evaluator=EvaluatorSpec(**evaluators[evaluation.study_id].worker_spec()),
            objectives=[
                ObjectiveView(name=o["name"], direction=o["direction"], unit=o.get("unit", ""))
                for o in studies[evaluation.study_id].objectives
            ],
            metrics=_declared_metrics(evaluators[evaluation.study_id]),
        )
        for evaluation in evaluations
    ]


def _declared_metrics(evaluator: MeasuredOutside) -> list[str] | None:
    names = evaluator.metric_names()
    return None if names is None else list(names)


def extend_lease(token: WorkerToken, lease_id: Any, lease_seconds: int) -> tuple[Lease, list[int]]:
    """Push the lease's end to ``lease_seconds`` from now; returns it and the evaluations it still holds."""
    with transaction.atomic():
        lease = _own_lease(token, lease_id)
        held = lease.evaluations.filter(status=Evaluation.Status.PENDING)
        ids = sorted(held.values_list("pk", flat=True))
        if not ids:
            raise LeaseLost(
                "this lease holds no pending evaluation any more: it expired and its work was "
                "given to another worker, or everything it held has been reported",
            )
        lease.expires_at = timezone.now() + timedelta(seconds=lease_seconds)
        lease.save(update_fields=["expires_at"])
        held.update(lease_expires_at=lease.expires_at)
    return lease, ids


def report_evaluation(token: WorkerToken, evaluation_id: int, data: dict[str, Any]) -> ReportOutcome:
    """Record a worker's report (checked as a ``ReportRequest`` once the study is known).

    Raises NotFound for an unknown evaluation, Forbidden for another study's, InvalidPayload for a
    malformed report, UnknownLease, Forbidden for another token's lease, LateReport. Nothing is
    written unless the report is recorded.
    """
    evaluation = Evaluation.objects.select_related("study").filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(f"there is no evaluation {evaluation_id}")
    study = evaluation.study
    if not token_reaches(token, study):
        raise Forbidden(f"this token does not give access to the study of evaluation {evaluation_id}")
    report = checked(ReportRequest, data, n_objectives=study.n_objectives)
    objectives = declared_values(
        report, [o["name"] for o in study.objectives], _measured_outside(study).metric_names()
    )
    with transaction.atomic():
        lease = _own_lease(token, report.lease, field="lease")
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id)
        if evaluation.status != Evaluation.Status.PENDING:
            if evaluation.lease_id == lease.pk:
                return "already_recorded"
            raise LateReport(
                f"evaluation {evaluation_id} was already {evaluation.status} "
                f"(reported under another lease at {_when(evaluation.finished_at)}); this report is late",
            )
        record_result(evaluation, _result(report, objectives), report.device or lease.device, lease)
    return "recorded"


def _result(report: ReportRequest, objectives: list[float] | None) -> EvaluationResult:
    """The report as a result; ``objectives`` in the study's order (``declared_values``)."""
    metrics: dict[str, Any] = report.metrics or {}  # JSON scalars: numbers, and words such as a note
    if report.status == "done":
        return EvaluationResult(
            objectives=tuple(objectives or ()),
            stage_latency=report.stage_latency,
            metrics=metrics,
            seconds=report.seconds or 0.0,
        )
    return EvaluationResult(
        objectives=None,
        stage_latency=report.stage_latency,
        metrics=metrics,
        error=report.error,
        seconds=report.seconds or 0.0,
    )


def _own_lease(token: WorkerToken, lease_id: Any, field: str | None = None) -> Lease:
    """The token's lease ``lease_id``, locked; ``field`` names it when a body (not the URL) gave it."""
    lease = Lease.objects.select_for_update().filter(pk=lease_id).first()
    if lease is None:
        message = f"there is no lease {lease_id}"
        raise NotFound(message) if field is None else UnknownLease(message, field)
    if lease.token_id != token.pk:
        raise Forbidden("this lease was given to another token", field)
    return lease


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "an earlier time"
