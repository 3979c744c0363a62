"""Noisy latency measurements: which ones are, why, and measuring them again without losing the old one.

A measurement is noisy when its timing cannot be trusted as it stands: the median's confidence
half-width (``latency_spread``) stayed above the evaluator's ``target_spread`` at the bound on passes
(or a single pass left it unknown), the machine's one-minute load or its run queue at the end of
timing (``machine_runnable``) exceeded its CPUs, or the board reported throttling. The measuring
worker decides it (``latency_noisy``, see ``search_engine.evaluators.measurement.is_noisy``);
``noise_of`` reads it back with the reasons from the same metrics, and is the one place every page
and export asks (the architectures table's badge, the architecture page, the dashboard's count, the
CSV's ``latency_noisy`` column), so they agree.

Re-measuring keeps every measurement: ``request_remeasurement`` copies each flagged evaluation's
measurement into a ``PreviousMeasurement`` row and puts one job per row on the evaluations queue
(studies whose evaluator measures there only: that queue's single consumer per machine times one
network at a time). ``run_remeasurement`` measures under a lease like an evaluation job; the new
measurement replaces the evaluation's objectives, stage latency and metrics in one transaction, so the
front, the feasibility and the study's current hypervolume follow, while the row keeps the old one.
A failed re-measurement leaves the evaluation as it was. A job lost with a killed worker or an
emptied Redis is given again by the reconciler (``requeue_lost_remeasurements``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Iteration, PreviousMeasurement, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.heartbeat import Pulse
from hytnas_web.studies.services.iterations import _hypervolume, _measured
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.queue_state import job_is_waiting
from hytnas_web.studies.services.scheduling import Enqueueing, dispatch_of, enqueue_measurement
from hytnas_web.studies.services.versions import bump_version
from search_engine.devices import describe_device
from search_engine.evaluators.measurement import THROTTLED_NOW
from search_engine.types import EvaluationResult

logger = logging.getLogger(__name__)

NOISE_METRICS = (
    "latency_noisy",
    "latency_spread",
    "machine_load_1m",
    "machine_runnable",
    "machine_throttled",
)
"""The metrics a measurement's noise is read from: a row without any of them says nothing about it."""

REMEASURE_JOB = "hytnas_web.studies.jobs.run_remeasurement"
"""The RQ entry point of one re-measurement (on the evaluations queue)."""


class RemeasureRefused(Exception):
    """The study cannot re-measure: its evaluator does not measure on the evaluations queue, or nothing
    is flagged. The message says which, in words a page can show."""


@dataclass(frozen=True)
class Noise:
    """Whether a measurement is noisy, and why (each reason a short phrase; empty when it is not)."""

    noisy: bool
    reasons: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The reasons on one line, for a badge's title and the page."""
        return "; ".join(self.reasons)


QUIET = Noise(False)


def _number(metrics: Mapping[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def noise_of(metrics: Any, target_spread: float | None = None) -> Noise:
    """Whether the measurement whose metrics these are is noisy, with its reasons.

    Args:
        metrics: an evaluation's stored metrics (anything else reads as no measurement).
        target_spread: the evaluator's ``target_spread`` (the spread's reason names it when given).
    """
    if not isinstance(metrics, Mapping):
        return QUIET
    reasons: list[str] = []
    spread, passes = _number(metrics, "latency_spread"), _number(metrics, "latency_passes")
    flagged = (_number(metrics, "latency_noisy") or 0.0) >= 0.5
    if spread is not None and target_spread is not None and spread > target_spread:
        reasons.append(f"spread ±{spread:.1%} above the target ±{target_spread:.1%}")
    elif spread is None and passes == 1 and flagged:
        reasons.append("a single timed pass: the median's spread is unknown")
    load, cores = _number(metrics, "machine_load_1m"), _number(metrics, "machine_cores")
    runnable = _number(metrics, "machine_runnable")
    if load is not None and cores is not None and load > cores:
        reasons.append(f"load {load:.2f} above the machine's {cores:.0f} cores")
    elif runnable is not None and cores is not None and runnable > cores:
        reasons.append(f"{runnable:.0f} tasks runnable at once on the machine's {cores:.0f} cores")
    throttled = _number(metrics, "machine_throttled")
    if throttled is not None and int(throttled) & THROTTLED_NOW:
        reasons.append(f"the board was throttled (flags {int(throttled):#x})")
    if flagged and not reasons:
        missed = f"spread ±{spread:.1%} missed the target" if spread is not None else ""
        reasons.append(missed or "flagged by the measuring worker")
    return Noise(bool(reasons), tuple(reasons))


def target_spread_of(study: Study) -> float | None:
    """The ``target_spread`` the study's evaluator measures to, when its configuration names one."""
    evaluator = study.config.get("evaluator", {}) if isinstance(study.config, dict) else {}
    value = evaluator.get("params", {}).get("target_spread") if isinstance(evaluator, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if evaluator.get("name") == "torch":
        from search_engine.evaluators.torch_model import TorchEvaluator

        return float(TorchEvaluator.target_spread)
    return None


def evaluation_noise(study: Study, evaluation: Evaluation) -> Noise:
    """``noise_of`` a measured evaluation of ``study`` (pending and failed ones are not noisy)."""
    if evaluation.status != Evaluation.Status.DONE:
        return QUIET
    return noise_of(evaluation.metrics, target_spread_of(study))


def noisy_evaluation_ids(study: Study) -> list[int]:
    """Ids of the study's measured evaluations flagged noisy, by id."""
    target = target_spread_of(study)
    rows = (
        study.evaluations.filter(status=Evaluation.Status.DONE)
        .filter(metrics__has_any_keys=list(NOISE_METRICS))
        .order_by("id")
        .values_list("id", "metrics")
    )
    return [pk for pk, metrics in rows if noise_of(metrics, target).noisy]


def remeasuring_ids(study: Study) -> set[int]:
    """Ids of the study's evaluations with a re-measurement outstanding."""
    return set(
        PreviousMeasurement.objects.filter(
            evaluation__study=study, status=PreviousMeasurement.Status.REMEASURING
        ).values_list("evaluation_id", flat=True)
    )


def remeasure_refusal(study: Study) -> str | None:
    """Why the study cannot re-measure noisy measurements, or None when it can."""
    if dispatch_of(study.config) != "queue":
        return (
            "Only studies whose evaluator measures on this installation's evaluations queue (torch) can "
            "re-measure: other evaluators' measurements are taken elsewhere."
        )
    return None


def request_remeasurement(study: Study) -> int:
    """Keep each flagged measurement not already being re-measured and enqueue its re-measurement.

    Returns how many were enqueued. Raises ``RemeasureRefused`` when the study's evaluator does not
    measure on the evaluations queue, or when none is left to re-measure.
    """
    refusal = remeasure_refusal(study)
    if refusal is not None:
        raise RemeasureRefused(refusal)
    try:
        return _keep_and_enqueue(study)
    except IntegrityError:  # a concurrent request (SQLite takes no row lock) kept them first
        raise RemeasureRefused("These measurements are already being re-measured.") from None


def _keep_and_enqueue(study: Study) -> int:
    """``request_remeasurement``'s work, in one transaction."""
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()  # orders concurrent requests
        outstanding = remeasuring_ids(study)
        wanted = [pk for pk in noisy_evaluation_ids(study) if pk not in outstanding]
        if not wanted:
            raise RemeasureRefused(
                "No noisy measurement is left to re-measure"
                + (f": {len(outstanding)} already being re-measured." if outstanding else ".")
            )
        for evaluation in Evaluation.objects.filter(pk__in=wanted).order_by("id"):
            kept = PreviousMeasurement.objects.create(
                evaluation=evaluation,
                objectives=evaluation.objectives,
                stage_latency=evaluation.stage_latency,
                metrics=evaluation.metrics,
                device=evaluation.device,
                seconds=evaluation.seconds,
                measured_at=evaluation.finished_at,
            )
            enqueue_remeasurement(kept)
        bump_version(study.pk)  # the pages showing the study draw its new state
    return len(wanted)


def enqueue_remeasurement(kept: PreviousMeasurement) -> Enqueueing:
    """Put ``run_remeasurement`` for this row on the evaluations queue once the transaction commits."""
    status = PreviousMeasurement.Status.REMEASURING
    remeasuring = PreviousMeasurement.objects.filter(pk=kept.pk, status=status)
    return enqueue_measurement(
        f"re-measurement of evaluation {kept.evaluation_id}",
        REMEASURE_JOB,
        kept.pk,
        lambda job_id: remeasuring.update(job_id=job_id),
    )


def run_remeasurement(kept_id: int, job_id: str = "") -> str:
    """Measure the evaluation again on this machine and let the new measurement replace the old one.

    Idempotent: a row already replaced or kept, or held by another live job, is left alone. Returns
    what happened, in words.
    """
    claimed = _claim(kept_id, job_id)
    if isinstance(claimed, str):
        return claimed

    def beat() -> None:
        PreviousMeasurement.objects.filter(
            pk=kept_id, status=PreviousMeasurement.Status.REMEASURING, job_id=job_id
        ).update(lease_expires_at=timezone.now() + timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS))

    evaluation = claimed.evaluation
    with Pulse(beat):
        try:
            evaluator = study_config(evaluation.study).build_evaluator()
            [result] = evaluator.evaluate([evaluation.architecture])
        except Exception as exc:  # a broken configuration fails this re-measurement, in words
            logger.exception("evaluation %s could not be re-measured", evaluation.pk)
            result = EvaluationResult.failure(f"could not be measured: {type(exc).__name__}: {exc}")
    return _record(kept_id, result, describe_device())


def _claim(kept_id: int, job_id: str) -> PreviousMeasurement | str:
    """Hold the re-measurement for this job, or say why not."""
    with transaction.atomic():
        kept = (
            PreviousMeasurement.objects.select_for_update()
            .select_related("evaluation__study")
            .filter(pk=kept_id)
            .first()
        )
        if kept is None:
            return "no such re-measurement"
        if kept.status != PreviousMeasurement.Status.REMEASURING:
            return f"re-measurement already {kept.status}"
        now = timezone.now()
        if kept.lease_expires_at is not None and kept.lease_expires_at > now and kept.job_id != job_id:
            return "another worker is re-measuring it"
        kept.job_id = job_id
        kept.lease_expires_at = now + timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        kept.attempts += 1
        kept.save(update_fields=["job_id", "lease_expires_at", "attempts"])
    return kept


def _record(kept_id: int, result: EvaluationResult, device: dict[str, Any]) -> str:
    """Write a re-measurement's outcome: the new measurement in place of the old, or the old one kept."""
    with transaction.atomic():
        kept = PreviousMeasurement.objects.select_for_update().filter(pk=kept_id).first()
        if kept is None or kept.status != PreviousMeasurement.Status.REMEASURING:
            return "re-measured, but another worker had recorded it first"
        evaluation = Evaluation.objects.select_for_update().select_related("study").get(pk=kept.evaluation_id)
        now = timezone.now()
        n_objectives = len(evaluation.study.objectives)
        usable = result.ok and result.objectives is not None and len(result.objectives) == n_objectives
        if not usable or evaluation.status != Evaluation.Status.DONE:
            kept.status = PreviousMeasurement.Status.KEPT
            kept.error = result.error or "the new measurement had no value for every objective"
            kept.lease_expires_at, kept.replaced_at = None, None
            kept.save(update_fields=["status", "error", "lease_expires_at", "replaced_at"])
            bump_version(evaluation.study_id)
            return f"failed ({kept.error}); the measurement in place is kept"
        assert result.objectives is not None
        evaluation.objectives = list(result.objectives)
        evaluation.stage_latency = (
            jsonable(dict(result.stage_latency)) if result.stage_latency is not None else None
        )
        evaluation.metrics = jsonable(dict(result.metrics))
        evaluation.seconds = result.seconds
        evaluation.device = jsonable(device)
        evaluation.finished_at = now
        evaluation.version = bump_version(evaluation.study_id)
        measured = ["objectives", "stage_latency", "metrics", "seconds", "device", "finished_at", "version"]
        evaluation.save(update_fields=measured)
        kept.status, kept.replaced_at, kept.lease_expires_at = PreviousMeasurement.Status.REPLACED, now, None
        kept.save(update_fields=["status", "replaced_at", "lease_expires_at"])
        _refresh_current_hypervolume(evaluation.study)
    return "re-measured"


def _refresh_current_hypervolume(study: Study) -> None:
    """The latest finished iteration's hypervolume recomputed on the measurements as they are now.

    Earlier iterations keep theirs: they record the search's progress as it was seen at the time.
    """
    latest = study.iterations.filter(status=Iteration.Status.DONE).order_by("-index").first()
    if latest is None:
        return
    config = study_config(study)
    finished = _measured(study, config)
    value = _hypervolume(study, config, finished.X, finished.Y)
    Iteration.objects.filter(pk=latest.pk).update(hypervolume=value, version=bump_version(study.pk))


def requeue_lost_remeasurements() -> list[str]:
    """Give a job again to each outstanding re-measurement that no live job holds or has queued.

    Run by the reconciler whatever the study's status (a completed study re-measures too). Returns
    what it did.
    """
    now = timezone.now()
    actions = []
    with transaction.atomic():
        free = PreviousMeasurement.objects.filter(status=PreviousMeasurement.Status.REMEASURING).filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
        )
        for kept in free.order_by("id"):
            if not job_is_waiting(kept.job_id, settings.EVALUATION_QUEUE):
                enqueue_remeasurement(kept)
                actions.append(f"evaluation {kept.evaluation_id}: re-measurement re-enqueued")
    return actions


def previous_measurements(evaluation: Evaluation) -> list[PreviousMeasurement]:
    """The evaluation's re-measurements, newest first: the ones replaced, kept or still outstanding."""
    return list(evaluation.previous_measurements.all())


@dataclass(frozen=True)
class NoisySummary:
    """What the dashboard and the confirmation page say about a study's noisy measurements."""

    n_noisy: int
    n_remeasuring: int
    refusal: str | None
    rows: tuple[tuple[Evaluation, Noise], ...] = ()


def noisy_summary(study: Study, with_rows: bool = False) -> NoisySummary:
    """How many measurements are flagged noisy and being re-measured; with the flagged rows if asked."""
    ids = noisy_evaluation_ids(study)
    rows: tuple[tuple[Evaluation, Noise], ...] = ()
    if with_rows and ids:
        target = target_spread_of(study)
        found = study.evaluations.filter(pk__in=ids).order_by("id")
        rows = tuple((e, noise_of(e.metrics, target)) for e in found)
    return NoisySummary(len(ids), len(remeasuring_ids(study)), remeasure_refusal(study), rows)


def remeasure_context(study: Study) -> dict[str, Any]:
    """The confirmation page's context: the study, the flagged measurements and whether it can re-measure."""
    summary = noisy_summary(study, with_rows=True)
    remeasuring = remeasuring_ids(study)
    return {
        "study": study,
        "summary": summary,
        "rows": [(e, noise, e.pk in remeasuring) for e, noise in summary.rows],
        "n_to_remeasure": sum(1 for e, _ in summary.rows if e.pk not in remeasuring),
    }
