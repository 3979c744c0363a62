"""How well a study's device measurements predict latency: the per-stage predictor fitted on them.

A study that measures latency per stage on a device (the ``torch`` and ``remote`` evaluators) can
have a latency predictor calibrated on what it measured (``search_engine.evaluators.latency_predictor``:
one regressor per stage on the space's features and closed-form counts). This page-level service fits
it on the study's finished evaluations with a stage latency (those flagged noisy left out),
cross-validates it (R², Kendall tau and the share within ±10 % per stage, with each architecture's
out-of-fold prediction for the chart) and caches the answer by a digest of the measurements and of
the evaluator's settings: a page view never refits, and a new measurement (or a re-measured one)
makes a new fit.

``remeasure_predicted_front`` closes the loop: it fits the predictor (and the study's surrogate on
the measured accuracy), searches against them with the study's solver
(``search_engine.evaluators.predicted_front``) and stores the predicted front's unmeasured
architectures as pending evaluations of the study (``origin = "predictor"``, outside any
iteration), each with what the predictor and surrogate predicted for it (``predicted_mean``, in the
objectives' order), handed to the device like any other: an evaluation job each on the evaluations
queue (``torch``) or claimed by the study's workers (``remote``). Their measurements change the
digest, so the page's fit is refitted with them, and the chart shows the front's predictions
against what the device then measured.

The search takes seconds, so the page's action only asks for it (``request_predicted_front``): an
RQ job on the default queue runs it (``search_predicted_front``). At most one is outstanding per
study: a marker beside the job in the queue's Redis holds its id while it runs (a marker whose job
no live part of RQ holds is taken over), and its outcome (how many were queued, or why none) stays
there for the page. Both live with the job: an emptied Redis loses the marker with the job, so a
lost search never blocks the next one.

A queued architecture whose evaluation job is lost (a killed worker, an emptied Redis) is given a
job again by the reconciler (``requeue_lost_predictor_evaluations``), on a running study or on one
that completed since: the evaluations queue measures them after the study completed too, so none is
stranded. A remote study's workers take work from running studies only; the page says so for those
left pending.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hytnas_web.studies import charts
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.evaluations import enqueue_evaluation, study_dispatch
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.lifecycle import ActionNotAllowed
from hytnas_web.studies.services.noisy import noisy_evaluation_ids
from hytnas_web.studies.services.queue_state import job_is_alive, job_is_waiting, redis_text
from hytnas_web.studies.services.scheduling import QUEUE_UNREACHABLE, dispatch_of, enqueue_on_commit
from hytnas_web.studies.services.versions import bump_version
from search_engine.errors import DataError
from search_engine.evaluators.latency_predictor import LatencyPredictor, inputs_from_points
from search_engine.evaluators.predicted_front import predicted_front
from search_engine.types import STAGES

logger = logging.getLogger(__name__)

PREDICTOR_CACHE_SECONDS = 7 * 24 * 3600
"""How long a fit is kept: it changes only with the measurements, which are part of the key."""

DEVICE_EVALUATORS = ("torch", "remote")
"""Evaluators that measure latency per stage on a device, whose study pages link to this one."""


@dataclass(frozen=True)
class StageRow:
    """One stage's cross-validated fit as the page shows it (None: undefined for constant values)."""

    stage: str
    n_rows: int
    r2: float | None
    kendall_tau: float | None
    within_10_percent: float | None
    rmse: float

    @property
    def within_10_percent_text(self) -> str:
        """The share within ±10 % as the page prints it, e.g. ``82.9 %``."""
        return "–" if self.within_10_percent is None else f"{100 * self.within_10_percent:.1f} %"


@dataclass(frozen=True)
class PredictorPage:
    """Everything the page shows; ``reason`` says why there is no fit (yet)."""

    n_measured: int
    min_rows: int
    predictor: str
    folds: int
    analytic: tuple[str, ...] = ()
    stages: list[StageRow] = field(default_factory=list)
    figure: dict[str, Any] | None = None
    reason: str = ""
    n_noisy: int = 0
    """Measurements flagged noisy (``services.noisy``), left out of the fit until measured again."""
    n_front_measured: int = 0
    """Architectures of a predicted front measured since, with the end-to-end latency predicted for them."""
    front_within_10_percent: float | None = None
    """The share of those whose measurement came within ±10 % of the prediction (None: none measured)."""

    @property
    def front_within_10_percent_text(self) -> str:
        """That share as the page prints it, e.g. ``75.0 %``."""
        share = self.front_within_10_percent
        return "–" if share is None else f"{100 * share:.1f} %"


def measures_stage_latency(study: Study) -> bool:
    """True when ``study``'s evaluator measures latency per stage on a device (the page applies)."""
    return str(study.evaluator.get("name")) in DEVICE_EVALUATORS


def study_latency_predictor(study: Study) -> PredictorPage:
    """The latency predictor fitted on ``study``'s measured stage latencies, cross-validated (cached)."""
    measured, n_noisy = _calibration_rows(study)
    rows = [(pk, x, latency) for pk, x, latency, _ in measured]
    predictor = LatencyPredictor(seed=study.seed)
    key = _cache_key(study, rows, n_noisy)
    cached = cache.get(key)
    if isinstance(cached, PredictorPage):
        return cached
    page = _fit(study, rows, predictor, n_noisy)
    cache.set(key, page, PREDICTOR_CACHE_SECONDS)
    return page


def _calibration_rows(study: Study) -> tuple[list[tuple[Any, Any, Any, Any]], int]:
    """``(id, x, stage latency, objectives)`` of the measurements to calibrate on, and how many noisy ones
    were left out (a noisy latency would teach the predictor the machine's load, not the network)."""
    noisy = set(noisy_evaluation_ids(study))
    rows: list[tuple[Any, Any, Any, Any]] = [
        row
        for row in study.evaluations.filter(
            status=Evaluation.Status.DONE, stage_latency__isnull=False, objectives__isnull=False
        )
        .order_by("id")
        .values_list("id", "x", "stage_latency", "objectives")
        if row[0] not in noisy
    ]
    return rows, len(noisy)


def _fit(
    study: Study, rows: list[tuple[int, Any, Any]], predictor: LatencyPredictor, n_noisy: int
) -> PredictorPage:
    def page(**shown: Any) -> PredictorPage:
        return PredictorPage(
            len(rows), predictor.min_rows(), predictor.label, predictor.folds, n_noisy=n_noisy, **shown
        )

    needed = predictor.min_rows()
    if len(rows) < needed:
        return page(
            reason=f"{len(rows)} architecture{'' if len(rows) == 1 else 's'} measured on the device so far; "
            f"the latency predictor needs at least {needed} to fit and cross-validate."
        )
    stages = _stages(rows)
    if not stages:
        return page(reason="No stage has a positive latency in every measurement.")
    config = study_config(study)
    space = config.build_space()
    X = np.array([x for _, x, _ in rows], dtype=np.float64)  # (n, n_vars)
    inputs = inputs_from_points(space, X, config.evaluator.params)
    latency = {s: np.array([float(lat[s]) for _, _, lat in rows]) for s in stages}
    try:
        fits = predictor.cross_validate(inputs, latency)
    except DataError as exc:  # the engine's checks say what is wrong with the measurements
        logger.warning("no latency predictor for study %s: %s", study.pk, exc)
        return page(reason=f"The measurements cannot be fitted: {exc.message}")
    table = [
        StageRow(
            s,
            f.quality.n_rows,
            f.quality.r2,
            f.quality.kendall_tau,
            f.quality.within_10_percent,
            f.quality.rmse,
        )
        for s, f in fits.items()
    ]
    front = _front_then_measured(study, [pk for pk, _, _ in rows])
    figure = charts.latency_predictor_figure(
        {s: (f.measured.tolist(), f.predicted.tolist()) for s, f in fits.items()}, front
    )
    measured, predicted = np.array(front[0]), np.array(front[1])
    within = float(np.mean(np.abs(predicted - measured) <= 0.1 * measured)) if measured.size else None
    return page(
        analytic=inputs.analytic_names,
        stages=table,
        figure=figure,
        n_front_measured=int(measured.size),
        front_within_10_percent=within,
    )


def _front_then_measured(study: Study, calibration_ids: list[int]) -> tuple[list[float], list[float]]:
    """End-to-end ``(measured, predicted)`` ms of the predicted fronts' architectures measured since.

    The prediction is the one stored when the front was queued, before the device measured it: how
    well the predictor did where the search went. The measurement is the sum of the measured stages,
    as the prediction is the sum of the predicted ones; those left out of the fit (noisy) are left
    out here too.
    """
    index = _latency_index(study_config(study))
    if index is None:
        return [], []
    measured: list[float] = []
    predicted: list[float] = []
    rows = (
        study.evaluations.filter(pk__in=calibration_ids, origin=PREDICTOR_ORIGIN)
        .exclude(predicted_mean=None)
        .order_by("id")
        .values_list("stage_latency", "predicted_mean")
    )
    for stage_latency, mean in rows:
        value = mean[index] if isinstance(mean, list) and index < len(mean) else None
        stages = stage_latency if isinstance(stage_latency, dict) else {}
        total = sum((float(v) for v in stages.values() if _positive(v)), 0.0)
        if isinstance(value, int | float) and _positive(value) and total > 0:
            measured.append(total)
            predicted.append(float(value))
    return measured, predicted


def _latency_index(config: Any) -> int | None:
    """Index of the study's latency objective (minimised, named ``latency``), or None."""
    return next(
        (i for i, o in enumerate(config.objectives) if o.name == "latency" and o.direction == "min"), None
    )


PREDICTOR_ORIGIN = "predictor"
"""``Evaluation.origin`` of the architectures queued from the predicted front."""


def predicted_front_refusal(study: Study) -> str | None:
    """Why the predicted front cannot be searched for and queued now, or None when it can.

    The study must be running (its device measures only then), have an objective to maximise
    (accuracy) to search against beside latency, enough measurements and budget left.
    """
    if study.status != Study.Status.RUNNING:
        return "The predicted front is measured by the study's device, which works only while the study runs."
    config = study_config(study)
    if next((o for o in config.objectives if o.direction == "max"), None) is None:
        return "The study has no objective to maximise (accuracy) to search for beside latency."
    rows, _ = _calibration_rows(study)
    predictor = LatencyPredictor(seed=config.seed)
    if len(rows) < predictor.min_rows() or not _stages([(pk, x, latency) for pk, x, latency, _ in rows]):
        return (
            f"{len(rows)} architectures measured on the device with every stage's latency; "
            f"the latency predictor needs at least {predictor.min_rows()}."
        )
    if config.budget - study.evaluations.count() <= 0:
        return "The study's budget is spent: no architecture is left to measure."
    return None


def remeasure_predicted_front(study: Study) -> int:
    """Queue the predicted front's unmeasured architectures for the device; returns how many were queued.

    At most the study's batch size, within what is left of its budget. Raises ActionNotAllowed,
    saying why, when ``predicted_front_refusal`` has a reason. Takes seconds (the search): the page
    runs it in a job (``search_predicted_front``).
    """
    refusal = predicted_front_refusal(study)
    if refusal is not None:
        raise ActionNotAllowed(refusal)
    config = study_config(study)
    accuracy = next(i for i, o in enumerate(config.objectives) if o.direction == "max")
    rows, _ = _calibration_rows(study)
    predictor = LatencyPredictor(seed=config.seed)
    stages = _stages([(pk, x, latency) for pk, x, latency, _ in rows])
    remaining = config.budget - study.evaluations.count()
    space = config.build_space()
    surrogate = config.build_surrogate()
    front = predicted_front(
        space,
        np.array([x for _, x, _, _ in rows], dtype=np.float64),
        {s: np.array([float(latency[s]) for _, _, latency, _ in rows]) for s in stages},
        np.array([float(values[accuracy]) for _, _, _, values in rows]),
        min(config.batch_size, remaining),
        seed=config.seed + len(rows),  # the same measurements propose the same front
        setting=config.evaluator.params,
        predictor=predictor,
        surrogate=surrogate if surrogate.predicts_values else None,
        solver=config.build_solver(),
    )
    latency = _latency_index(config)
    predictions: list[list[float | None]] = []
    for i in range(front.X.shape[0]):
        mean: list[float | None] = [None] * len(config.objectives)
        if surrogate.predicts_values:  # a ranker's scores are not accuracies
            mean[accuracy] = float(front.accuracy[i])
        if latency is not None:
            mean[latency] = float(front.latency[i])
        predictions.append(mean)
    return _store_front(study, space, front.X, predictions, config.budget)


def _store_front(study: Study, space: Any, X: Any, predictions: list[list[float | None]], budget: int) -> int:
    """Pending evaluations for cube points ``X (k, n_vars)`` with their predicted objectives, handed to
    the device on commit.

    The budget is counted again under the study's row lock, so a proposal stored meanwhile by an
    iteration never takes the study past it.
    """
    keys = space.keys(X)
    architectures = space.decode(X)
    dispatch = study_dispatch(study)
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()
        version = bump_version(study.pk)
        known = set(study.evaluations.filter(key__in=keys).values_list("key", flat=True))
        room = max(0, budget - study.evaluations.count())
        new = [
            Evaluation(
                study=study,
                position=i,
                key=key,
                x=X[i].tolist(),
                architecture=jsonable(architectures[i]),
                source=Evaluation.Source.OPTIMIZER,
                origin=PREDICTOR_ORIGIN,
                predicted_mean=predictions[i],
                version=version,
            )
            for i, key in enumerate(keys)
            if key not in known
        ][:room]
        Evaluation.objects.bulk_create(new, ignore_conflicts=True)
        stored = list(
            study.evaluations.filter(key__in=[e.key for e in new], status=Evaluation.Status.PENDING)
        )
        if dispatch == "queue":
            for evaluation in stored:
                enqueue_evaluation(evaluation)
    return len(stored)


def _stages(rows: list[tuple[int, Any, Any]]) -> list[str]:
    """The stages with a positive latency in every measurement, in ``STAGES`` order."""
    return [s for s in STAGES if all(_positive(latency.get(s)) for _, _, latency in rows)]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _cache_key(study: Study, rows: list[tuple[int, Any, Any]], n_noisy: int) -> str:
    """A digest of the measurements, of what they were measured with and of how many were left out
    (a new noisy measurement changes no row of the fit, but the page counts it)."""
    text = json.dumps(
        {"space": study.space, "evaluator": study.evaluator, "rows": rows, "noisy": n_noisy},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"latency-predictor:{hashlib.sha256(text.encode()).hexdigest()}"


SEARCH_QUEUE = "default"
"""The queue the search against the predictor runs on (minutes at most; it times nothing)."""

SEARCH_JOB = "hytnas_web.studies.jobs.search_predicted_front"
"""The RQ entry point of one search: ``SEARCH_JOB(study_id)``."""

SEARCH_GRACE_SECONDS = 30.0
"""How long a new marker counts as alive before its job is in Redis (between the marker and the enqueue)."""

SEARCH_MARKER_SECONDS = 2 * 3600
"""Longest a marker lives: past the default queue's job timeout (an hour), so a lost one expires anyway."""

OUTCOME_SECONDS = 7 * 24 * 3600
"""How long the last search's outcome is kept for the page."""

QUEUE_UNREACHABLE_TEXT = (
    "The job queue (Redis) cannot be reached, so the search against the predictor cannot be started; "
    "try again once it answers."
)

_DELETE_IF_HELD = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
"""Deletes a key only while it still holds the value read (a lost search's marker, not its successor's)."""


def _searching_key(study_id: int) -> str:
    """Redis key of the marker of a study's outstanding search: its job id and when it was asked for."""
    return f"hytnas:predicted-front:{study_id}:searching"


def _outcome_key(study_id: int) -> str:
    """Redis key of the outcome of a study's last search."""
    return f"hytnas:predicted-front:{study_id}:outcome"


def _connection() -> Any:
    import django_rq

    return django_rq.get_connection(SEARCH_QUEUE)


def _marker_alive(raw: Any) -> bool:
    """True while the marker's search is under way: just asked for, or its job held by a live part of RQ."""
    try:
        marker = json.loads(redis_text(raw))
        job_id, asked_at = str(marker["job_id"]), float(marker["at"])
    except (ValueError, KeyError, TypeError):
        return False
    return time.time() - asked_at < SEARCH_GRACE_SECONDS or job_is_alive(job_id, SEARCH_QUEUE)


def _hold_search(connection: Any, study_id: int, job_id: str) -> bool:
    """Set the study's marker to this job unless a live search holds it; True when it was set."""
    key = _searching_key(study_id)
    marker = json.dumps({"job_id": job_id, "at": time.time()})
    if connection.set(key, marker, nx=True, ex=SEARCH_MARKER_SECONDS):
        return True
    held = connection.get(key)
    if held is not None and _marker_alive(held):
        return False
    if held is not None:  # lost with its worker: take it over, unless another request just did
        connection.eval(_DELETE_IF_HELD, 1, key, held)
    return bool(connection.set(key, marker, nx=True, ex=SEARCH_MARKER_SECONDS))


def request_predicted_front(study: Study) -> None:
    """Ask for a search against the predictor, run by a job on the default queue; returns at once.

    Raises ActionNotAllowed, saying why, when the study cannot search now (``predicted_front_refusal``,
    checked again by the job), when a search of the study is already under way, or when the queue
    cannot be reached (nothing is left behind then).
    """
    refusal = predicted_front_refusal(study)
    if refusal is not None:
        raise ActionNotAllowed(refusal)
    study_id = study.pk
    job_id = f"predicted-front-{study_id}-{uuid.uuid4().hex[:16]}"
    try:
        connection = _connection()
        if not _hold_search(connection, study_id, job_id):
            raise ActionNotAllowed(
                "A search against the predictor is already running for this study; "
                "its outcome shows on this page when it ends."
            )
    except QUEUE_UNREACHABLE as exc:
        logger.warning("study %s: no search against the predictor (%s)", study_id, exc)
        raise ActionNotAllowed(QUEUE_UNREACHABLE_TEXT) from None

    def enqueue() -> None:
        import django_rq

        django_rq.get_queue(SEARCH_QUEUE).enqueue(
            SEARCH_JOB,
            study_id,
            job_id=job_id,
            job_timeout=settings.RQ_QUEUES[SEARCH_QUEUE]["DEFAULT_TIMEOUT"],
            description=f"search against the latency predictor of study {study_id}",
        )

    if enqueue_on_commit(f"the predicted front of study {study_id}", enqueue).failed:
        _release(study_id, job_id)
        raise ActionNotAllowed(QUEUE_UNREACHABLE_TEXT)


def _release(study_id: int, job_id: str) -> None:
    """Drop the study's marker if this job still holds it (an unreachable Redis keeps it to expire)."""
    try:
        connection = _connection()
        held = connection.get(_searching_key(study_id))
        if held is not None and json.loads(redis_text(held)).get("job_id") == job_id:
            connection.eval(_DELETE_IF_HELD, 1, _searching_key(study_id), held)
    except QUEUE_UNREACHABLE as exc:
        logger.warning("study %s: the search marker stays until it expires (%s)", study_id, exc)


def search_predicted_front(study_id: int, job_id: str = "") -> str:
    """The job: search against the predictor, queue its front, keep the outcome for the page.

    Every outcome is kept in words, a refusal (the study stopped running meanwhile) or a failure
    included, so the page says what became of the click. Returns the outcome.
    """
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        _release(study_id, job_id)
        return "no such study"
    level = "success"
    try:
        queued = remeasure_predicted_front(study)
        text = (
            f"{queued} architecture{'' if queued == 1 else 's'} of the predicted front queued for the device."
            if queued
            else "Every architecture on the predicted front is already measured or queued: none was queued."
        )
    except ActionNotAllowed as exc:
        level, text = "info", f"Nothing was queued: {exc}"
    except Exception as exc:  # the page says why, instead of a job failed in silence
        logger.exception("study %s: the search against the predictor failed", study_id)
        level, text = "error", f"The search against the predictor failed: {type(exc).__name__}: {exc}"
    outcome = {"level": level, "text": text, "at": timezone.now().isoformat()}
    try:
        _connection().set(_outcome_key(study_id), json.dumps(outcome), ex=OUTCOME_SECONDS)
    finally:
        _release(study_id, job_id)
    return text


@dataclass(frozen=True)
class FrontSearch:
    """What the page says about the search against the predictor and the architectures it queued."""

    searching: bool = False
    outcome: str = ""
    outcome_level: str = ""
    outcome_at: str = ""
    unreachable: bool = False
    """The queue's Redis did not answer: whether a search runs is unknown."""
    n_pending: int = 0
    """Queued architectures of predicted fronts not measured yet."""
    pending_note: str = ""
    """Who measures those, or why nobody will."""


def front_search(study: Study) -> FrontSearch:
    """Whether a search of ``study`` is under way, its last outcome, and its queued architectures."""
    n_pending = study.evaluations.filter(origin=PREDICTOR_ORIGIN, status=Evaluation.Status.PENDING).count()
    shown: dict[str, Any] = {
        "n_pending": n_pending,
        "pending_note": _pending_note(study) if n_pending else "",
    }
    try:
        connection = _connection()
        held = connection.get(_searching_key(study.pk))
        raw = connection.get(_outcome_key(study.pk))
    except QUEUE_UNREACHABLE:
        return FrontSearch(unreachable=True, **shown)
    searching = held is not None and _marker_alive(held)
    try:
        outcome = json.loads(redis_text(raw)) if raw is not None else {}
    except ValueError:
        outcome = {}
    return FrontSearch(
        searching=searching,
        outcome=str(outcome.get("text", "")),
        outcome_level=str(outcome.get("level", "")),
        outcome_at=str(outcome.get("at", ""))[:19].replace("T", " "),
        **shown,
    )


def _pending_note(study: Study) -> str:
    """Who measures the queued architectures of a predicted front, or why they wait."""
    dispatch = dispatch_of(study.config)
    if study.status == Study.Status.RUNNING:
        return "They are measured by the study's device as it takes them."
    if study.status == Study.Status.COMPLETED and dispatch == "queue":
        return "The study has completed; the evaluations queue measures them all the same."
    if study.status == Study.Status.COMPLETED:
        return (
            "The study completed before its workers measured them, and workers take work from running "
            "studies only: they stay pending."
        )
    if study.status == Study.Status.PAUSED:
        return "The study is paused: they are measured once it resumes."
    return f"The study is {study.get_status_display().lower()}: they will not be measured."


def requeue_lost_predictor_evaluations() -> list[str]:
    """Give an evaluation job again to each queued architecture of a predicted front that no job holds.

    Run by the reconciler. They belong to no iteration, so nothing else looks after them on a
    synchronous study; on a running or completed study whose evaluator measures on the evaluations
    queue, one that nobody holds (no lease, or one run out) and whose job waits nowhere (a killed
    worker, an emptied Redis) is enqueued again. Returns what it did.
    """
    now = timezone.now()
    actions = []
    with transaction.atomic():
        free = (
            Evaluation.objects.filter(
                origin=PREDICTOR_ORIGIN,
                iteration__isnull=True,
                status=Evaluation.Status.PENDING,
                study__status__in=(Study.Status.RUNNING, Study.Status.COMPLETED),
            )
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .select_related("study")
            .order_by("id")
        )
        for evaluation in free:
            if dispatch_of(evaluation.study.config) != "queue":
                continue
            if job_is_waiting(evaluation.job_id, settings.EVALUATION_QUEUE):
                continue
            enqueue_evaluation(evaluation)
            actions.append(f"evaluation {evaluation.pk}: predicted front's architecture re-enqueued")
    return actions


def refresh_completed_hypervolume(study_id: int) -> None:
    """A completed study's current hypervolume, recomputed after an architecture of its front was measured.

    The latest iteration's figure, as a replaced noisy measurement updates it (``services.noisy``);
    earlier iterations keep theirs, the search's progress as it was seen then.
    """
    from hytnas_web.studies.services.noisy import _refresh_current_hypervolume

    _refresh_current_hypervolume(Study.objects.get(pk=study_id))
