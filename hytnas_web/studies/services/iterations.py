"""Running one iteration (called by the RQ job): propose once, evaluate what is pending, finish."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.evaluations import hand_out_pending, record_results_surviving, study_dispatch
from hytnas_web.studies.services.evaluator_cache import study_evaluator
from hytnas_web.studies.services.feasibility import constrained_measurements, finished_results
from hytnas_web.studies.services.heartbeat import Pulse
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.outages import service_unavailable
from hytnas_web.studies.services.scheduling import (
    end_study,
    enqueue_iteration,
    finish_if_budget_spent,
    in_flight_state,
    keep_in_flight,
    nothing_succeeded,
    out_of_patience,
)
from hytnas_web.studies.services.versions import bump_version
from hytnas_web.studies.services.warm_start import warm_start_counts
from search_engine.config import StudyConfig
from search_engine.constraints import feasible_rows
from search_engine.evaluators.base import Evaluator
from search_engine.metrics.fidelity import surrogate_fidelity
from search_engine.objectives import (
    ReferencePoint,
    derive_reference_point,
    from_minimisation,
    to_minimisation,
)
from search_engine.optimizer import initial_design, iteration_seed, propose
from search_engine.runner import current_hypervolume

logger = logging.getLogger(__name__)


def run_iteration(study_id: int, index: int, job_id: str = "") -> str:
    """Run iteration ``index`` of a study to its end: propose (once), evaluate what is pending, finish.

    Idempotent: a second call for a finished iteration does nothing; a call while another live job
    runs it backs off; a call after a crash picks up the stored proposal and evaluates only what is
    still pending. A lost Redis or database connection is not the study's fault: the iteration is
    left due and runs again once the service is back (the reconciler enqueues it). Any other error
    fails the study with the reason. Returns a short description of what happened (shown in the RQ
    dashboard).
    """
    try:
        claim = _claim(study_id, index, job_id)
        if claim is not None:
            return claim
        return _run_claimed(study_id, index)
    except Exception as exc:  # a failed iteration is recorded in words, never left "running"
        if service_unavailable(exc):
            return _leave_due(study_id, index, job_id, exc)
        _fail(study_id, index, exc)
        return f"failed: {exc}"


def _run_claimed(study_id: int, index: int) -> str:
    """The iteration's work once this job holds it."""
    iteration = Iteration.objects.select_related("study").get(study_id=study_id, index=index)
    study = iteration.study

    def beat() -> None:
        Iteration.objects.filter(pk=iteration.pk, status=Iteration.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )

    with Pulse(beat):
        config = study_config(study)
        if config.in_flight is not None and study_dispatch(study) != "inline":
            return _run_proposal(study, iteration, config)
        before: _Finished | None = None  # what was measured before this job's proposal, when it made one
        if not iteration.evaluations.exists():
            before = _measured(study, config)
            if not _propose(study, iteration, config, before):
                return _finish(study, iteration, config, before, exhausted=True)
        dispatch = study_dispatch(study)
        if dispatch == "inline":
            stopped = _evaluate_pending(study, iteration, study_evaluator(config))
            if stopped:
                return stopped
            return _finish(study, iteration, config, before)
        waiting = hand_out_pending(iteration, dispatch)
        if waiting:
            where = "the evaluations queue" if dispatch == "queue" else "evaluation workers"
            return f"waiting for {waiting} evaluation(s) on {where}"
        return _finish(study, iteration, config)


def _run_proposal(study: Study, iteration: Iteration, config: StudyConfig) -> str:
    """One proposal of a study that keeps N architectures in flight: store it, hand it out, finish it.

    The iteration is done as soon as its architectures are handed out; it never waits for them.
    Results arriving later propose the next ones (``keep_in_flight``), so an iteration here is one
    proposal event, and its hypervolume is that of the measurements finished when it was proposed.
    Iteration 0 is the initial design, as for synchronous batches.
    """
    exhausted = False
    if not iteration.evaluations.exists():
        if iteration.index == 0:
            exhausted = not _propose(study, iteration, config, _measured(study, config))
        else:
            exhausted = not _propose_in_flight(study, iteration, config)
    hand_out_pending(iteration, study_dispatch(study))
    return _finish_proposal(study, iteration, config, exhausted)


def _propose_in_flight(study: Study, iteration: Iteration, config: StudyConfig) -> bool:
    """Propose what brings the study back to N in flight; False when the space has nothing new left.

    Conditioned on the architectures still being measured (their cube points are ``pending``) and
    stateless: the configuration, the finished measurements, the points in flight and the
    iteration's seed decide it, so a re-run after a crash proposes the same keys, which the unique
    (study, key) constraint keeps out a second time. The room is counted again under the study's
    row lock when storing, so the proposal never takes the study past N in flight or the budget.
    """
    assert config.in_flight is not None
    finished = _measured(study, config)
    X, Y = finished.X, finished.Y
    in_flight = list(
        study.evaluations.filter(status=Evaluation.Status.PENDING).order_by("id").values_list("x", flat=True)
    )
    X_pending = np.array(in_flight, dtype=np.float64).reshape(len(in_flight), config.build_space().n_vars)
    before = in_flight_state(study, config.in_flight)
    if before.room == 0:  # N in flight already, or the budget spent: nothing to add
        figures = {"in_flight_before": before.n_pending, "in_flight_target": config.in_flight, "proposed": 0}
        Iteration.objects.filter(pk=iteration.pk).update(diagnostics=figures, version=bump_version(study.pk))
        return True
    results = finished_results(study, config)
    measured = constrained_measurements(config, Y, results) if results is not None else None
    proposal = propose(
        config, X, Y, iteration.seed, batch_size=before.room, pending=X_pending, measured=measured
    )
    if proposal.X.shape[0] == 0:
        return False
    with transaction.atomic():
        state = in_flight_state(Study.objects.select_for_update().get(pk=study.pk), config.in_flight)
        count = min(proposal.X.shape[0], state.room)
        diagnostics = {
            **proposal.diagnostics,
            "in_flight_before": state.n_pending,  # when stored, under the lock: the figure that holds
            "in_flight_target": config.in_flight,
            "proposed": count,
        }
        if count == 0:  # never past N in flight or the budget, whatever ran meanwhile
            Iteration.objects.filter(pk=iteration.pk).update(
                diagnostics=jsonable(diagnostics), version=bump_version(study.pk)
            )
            return True
        _store(
            study,
            iteration,
            config,
            proposal.X[:count],
            None if proposal.mean is None else proposal.mean[:count],
            None if proposal.std is None else proposal.std[:count],
            proposal.origin[:count],
            proposal.timings,
            diagnostics,
        )
    return True


def _finish_proposal(study: Study, iteration: Iteration, config: StudyConfig, exhausted: bool) -> str:
    """Record the proposal's figures, mark it done, then propose again, complete the study, or wait."""
    finished = _measured(study, config)
    X, Y = finished.X, finished.Y
    hv = _hypervolume(study, config, X, Y)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        it = Iteration.objects.select_for_update().get(pk=iteration.pk)
        if it.status == Iteration.Status.DONE:
            return "iteration already done"
        it.status = Iteration.Status.DONE
        it.hypervolume = hv
        it.n_evaluations = X.shape[0]
        proposed = it.evaluations.count()
        it.diagnostics = {**it.diagnostics, "proposed": proposed}
        if exhausted:
            it.diagnostics["space_exhausted"] = True
        it.finished_at = timezone.now()
        it.version = bump_version(study.pk)
        it.save()
        if keep_in_flight(study) is None:
            return f"iteration {it.index} proposed {proposed}; study completed"
    return f"iteration {it.index} proposed {proposed}: hypervolume {hv}"


IMMEDIATE_RERUN_ATTEMPTS = 3
"""An iteration handed back after a service error is re-enqueued at once while it has run fewer times
than this; a service that keeps failing is then retried at the reconciler's pace, never in a tight loop."""


def _leave_due(study_id: int, index: int, job_id: str, exc: BaseException) -> str:
    """Hand the iteration back (pending) after a service error, to run again once the service is back.

    Uses a fresh connection: the one that failed is closed first. When that works (a terminated
    connection, a database that is back) and Redis answers, the re-run is enqueued at once, for the
    first few attempts; after that, or when Redis is away, the reconciler enqueues it. When the
    database is still away the write fails too; the iteration then stays "running" until its
    heartbeat goes stale, and the reconciler takes it back then.
    """
    reason = f"{type(exc).__name__}: {exc}"
    logger.warning("study %s iteration %s left for a re-run: %s", study_id, index, reason)
    connections.close_all()
    try:
        with transaction.atomic():
            held = Iteration.objects.filter(
                study_id=study_id, index=index, status=Iteration.Status.RUNNING, job_id=job_id
            )
            attempts = held.values_list("attempts", flat=True).first()
            if attempts is not None:
                held.update(status=Iteration.Status.PENDING, heartbeat_at=None, job_id="")
                if attempts < IMMEDIATE_RERUN_ATTEMPTS:
                    enqueue_iteration(Iteration(study_id=study_id, index=index))
    except DatabaseError as again:
        logger.warning("study %s iteration %s: no database yet (%s)", study_id, index, again)
        connections.close_all()
    return f"left for a re-run: {reason}"


def _claim(study_id: int, index: int, job_id: str) -> str | None:
    """Mark the iteration as ours, or say why not (done, not running, another live job has it)."""
    with transaction.atomic():
        study = Study.objects.select_for_update().filter(pk=study_id).first()
        if study is None:
            return "no such study (deleted)"
        iteration = Iteration.objects.select_for_update().filter(study=study, index=index).first()
        if iteration is None:
            return "no such iteration"
        if iteration.status in (Iteration.Status.DONE, Iteration.Status.FAILED):
            return f"iteration already {iteration.status}"
        if study.status != Study.Status.RUNNING:
            return f"study is {study.status}"
        now = timezone.now()
        stale = now - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        fresh = iteration.heartbeat_at is not None and iteration.heartbeat_at > stale
        if iteration.status == Iteration.Status.RUNNING and fresh and iteration.job_id != job_id:
            return "another job is running this iteration"
        iteration.status = Iteration.Status.RUNNING
        iteration.job_id = job_id
        iteration.heartbeat_at = now
        iteration.attempts += 1
        iteration.started_at = iteration.started_at or now
        iteration.version = bump_version(study_id)
        iteration.save(
            update_fields=["status", "job_id", "heartbeat_at", "attempts", "started_at", "version"]
        )
    return None


@dataclass(frozen=True)
class _Finished:
    """A study's finished evaluations (id order) as read: cube points, objective rows (NaN for failures)."""

    X: np.ndarray
    Y: np.ndarray
    keys: list[str]
    last_id: int
    """The largest id read: a later read takes only the rows after it."""


def _measured(study: Study, config: StudyConfig, since: _Finished | None = None) -> _Finished:
    """Every finished evaluation of the study, in id order.

    Given ``since``, read earlier by this job, only the rows after it are read and appended: the
    iteration's own batch, stored after that read, and anything imported meanwhile. Nothing else
    can finish in between, since an inline study's pending rows are this iteration's own.
    """
    rows = study.evaluations.exclude(status=Evaluation.Status.PENDING)
    if since is not None:
        rows = rows.filter(id__gt=since.last_id)
    found = list(rows.order_by("id").values_list("x", "objectives", "key", "id"))
    n_vars = config.build_space().n_vars
    X = np.array([r[0] for r in found], dtype=np.float64).reshape(len(found), n_vars)
    nan_row = [float("nan")] * config.n_objectives
    Y = np.array([r[1] if r[1] is not None else nan_row for r in found], dtype=np.float64)
    Y = Y.reshape(len(found), config.n_objectives)
    keys = [r[2] for r in found]
    last_id = found[-1][3] if found else 0
    if since is None:
        return _Finished(X, Y, keys, last_id)
    return _Finished(
        np.vstack([since.X, X]), np.vstack([since.Y, Y]), since.keys + keys, max(since.last_id, last_id)
    )


def _propose(study: Study, iteration: Iteration, config: StudyConfig, finished: _Finished) -> bool:
    """Store this iteration's batch as pending evaluations; False when nothing is left to propose.

    Iteration 0 is the initial design: measurements the study already holds (imported, copied from
    another study) count towards ``n_init``, and only the missing points are sampled. When none are
    missing it stores no evaluation, and finishing it hands the study to the optimizer. ``finished``
    is what the study had measured before (``_measured``).
    """
    X, Y, keys = finished.X, finished.Y, finished.keys
    remaining = config.budget - study.evaluations.count()
    if iteration.index == 0:
        warm_start = warm_start_counts(study)
        missing = min(max(0, config.n_init - sum(warm_start.values())), max(0, remaining))
        diagnostics: dict[str, Any] = {"initial_design": True, "warm_start": warm_start}
        if missing == 0:  # the measurements already there are the whole initial design
            Iteration.objects.filter(pk=iteration.pk).update(
                diagnostics=diagnostics, version=bump_version(study.pk)
            )
            return remaining > 0
    if remaining <= 0:
        return False
    if iteration.index == 0:
        points = initial_design(config, missing, iteration.seed, exclude=set(keys))
        proposal_mean = proposal_std = None
        origins = ["initial"] * points.shape[0]
        timings: dict[str, float] = {}
    else:
        results = finished_results(study, config)
        measured = constrained_measurements(config, Y, results) if results is not None else None
        batch_size = min(config.batch_size, remaining)
        proposal = propose(config, X, Y, iteration.seed, batch_size=batch_size, measured=measured)
        points, proposal_mean, proposal_std = proposal.X, proposal.mean, proposal.std
        origins, timings, diagnostics = proposal.origin, proposal.timings, proposal.diagnostics
    if points.shape[0] == 0:
        return False
    _store(study, iteration, config, points, proposal_mean, proposal_std, origins, timings, diagnostics)
    return True


def _store(
    study: Study,
    iteration: Iteration,
    config: StudyConfig,
    points: np.ndarray,
    proposal_mean: np.ndarray | None,
    proposal_std: np.ndarray | None,
    origins: list[str],
    timings: dict[str, float],
    diagnostics: dict[str, Any],
) -> None:
    """Store proposed cube points ``(n, n_vars)`` as the iteration's pending evaluations, with its figures."""
    space = config.build_space()
    architectures = space.decode(points)
    new_keys = space.keys(points)
    source = Evaluation.Source.INITIAL if iteration.index == 0 else Evaluation.Source.OPTIMIZER
    with transaction.atomic():
        version = bump_version(study.pk)
        Evaluation.objects.bulk_create(
            [
                Evaluation(
                    study=study,
                    iteration=iteration,
                    position=i,
                    key=new_keys[i],
                    x=points[i].tolist(),
                    architecture=jsonable(architectures[i]),
                    source=source,
                    origin="" if origins[i] == "initial" else origins[i],
                    predicted_mean=None if proposal_mean is None else proposal_mean[i].tolist(),
                    predicted_std=None if proposal_std is None else proposal_std[i].tolist(),
                    version=version,
                )
                for i in range(points.shape[0])
            ],
            ignore_conflicts=True,  # a re-run after a crash proposes the same keys: never twice
        )
        Iteration.objects.filter(pk=iteration.pk).update(
            timings=timings, diagnostics=jsonable(diagnostics), version=version
        )


def _evaluate_pending(study: Study, iteration: Iteration, evaluator: Evaluator) -> str | None:
    """Measure this iteration's pending architectures and save their results.

    An evaluator that evaluates batches (``Evaluator.evaluates_batches``) measures them all in one
    call, saved in one transaction; any other measures and saves one at a time, so a pause or a
    killed worker keeps what was measured. Before each call the study must still be running.
    Returns a reason when the study stopped being runnable (paused, cancelled) before the end.
    """
    device: dict[str, Any] = {}  # computed, not measured: no machine to name
    pending = list(
        iteration.evaluations.filter(status=Evaluation.Status.PENDING)
        .order_by("position")
        .only("id", "study_id", "iteration_id", "architecture")  # the rest is read when written
    )
    step = max(len(pending), 1) if evaluator.evaluates_batches else 1
    for start in range(0, len(pending), step):
        status = Study.objects.values_list("status", flat=True).get(pk=study.pk)
        if status != Study.Status.RUNNING:
            Iteration.objects.filter(pk=iteration.pk).update(
                status=Iteration.Status.PENDING, version=bump_version(study.pk)
            )
            return f"stopped: study is {status}"
        chunk = pending[start : start + step]
        results = evaluator.evaluate([evaluation.architecture for evaluation in chunk])
        record_results_surviving(chunk, results, device)
    return None


def _reference_point(study: Study, config: StudyConfig, Y: np.ndarray) -> ReferencePoint | None:
    """The configuration's reference point, or one derived from the initial design and stored in it.

    Once derived, the point joins the stored configuration (as the engine's runner does with its
    own), so every later iteration and a clone use the same one.
    """
    stored = config.reference_point()
    if stored is not None:
        if study.ref_point_derived:
            return ReferencePoint(stored.values, True, "derived from the initial design")
        return stored
    try:
        derived = derive_reference_point(to_minimisation(Y, config.objectives))
    except ValueError:
        return None  # nothing has succeeded yet
    in_units = tuple(float(v) for v in from_minimisation(derived.as_array(), config.objectives))
    Study.objects.filter(pk=study.pk).update(
        config=config.with_changes(ref_point=in_units).to_dict(),  # the query columns do not change
        ref_point_derived=True,
        version=F("version") + 1,
    )
    return derived


def _hypervolume(study: Study, config: StudyConfig, X: np.ndarray, Y: np.ndarray) -> float | None:
    """The study's hypervolume now: of the points meeting every bound (all points without bounds).

    None until a reference point exists (given, or derived from the first successes).
    """
    reference = _reference_point(study, config, Y)
    if reference is None:
        return None
    feasible = feasible_rows(config, X, Y, finished_results(study, config))  # None without bounds
    return current_hypervolume(Y, config, reference, feasible)


def _finish(
    study: Study,
    iteration: Iteration,
    config: StudyConfig,
    before: _Finished | None = None,
    exhausted: bool = False,
) -> str:
    """Record hypervolume and fidelity, then schedule the next iteration or complete the study.

    ``before``: the measurements this job read before proposing, so only what finished since is read.
    """
    finished = _measured(study, config, since=before)
    X, Y = finished.X, finished.Y
    hv = _hypervolume(study, config, X, Y)
    batch = list(iteration.evaluations.values_list("predicted_mean", "objectives", "seconds"))
    fidelity = _fidelity([(predicted, measured) for predicted, measured, _ in batch], config)
    evaluate_seconds = sum(seconds for _, _, seconds in batch if seconds is not None)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        it = Iteration.objects.select_for_update().get(pk=iteration.pk)
        if it.status == Iteration.Status.DONE:
            return "iteration already done"
        it.status = Iteration.Status.DONE
        it.hypervolume = hv
        it.n_evaluations = X.shape[0]
        it.fidelity = fidelity
        it.timings = {**it.timings, "evaluate": float(evaluate_seconds)}
        it.finished_at = timezone.now()
        it.version = bump_version(study.pk)
        it.save()
        if study.status != Study.Status.RUNNING:
            return f"iteration done; study is {study.status}"
        left_behind = study.iterations.exclude(status=Iteration.Status.DONE).order_by("index").first()
        if left_behind is not None:
            # An older iteration is unfinished (a retry after a service error): it runs next.
            study.save(update_fields=["updated_at"])
            enqueue_iteration(left_behind)
            return f"iteration {it.index} done; iteration {left_behind.index} runs next"
        if it.index == 0 and (failure := nothing_succeeded(study)) is not None:
            end_study(study, "")  # the initial design taught nothing: fail, naming the reasons
            return f"study failed: {failure}"
        if exhausted:
            end_study(study, f"its search space has no architecture left to propose ({X.shape[0]} measured)")
        elif out_of_patience(study, config.patience):
            end_study(
                study, f"patience ran out: no hypervolume gain in its last {config.patience} iterations"
            )
        if study.status != Study.Status.RUNNING or finish_if_budget_spent(study):
            return f"study {study.status}"
        last = study.iterations.order_by("-index").values_list("index", flat=True).first()
        assert last is not None  # this iteration is one of them
        following = Iteration.objects.create(
            study=study, index=last + 1, seed=iteration_seed(config.seed, last + 1)
        )
        study.save(update_fields=["updated_at"])
        enqueue_iteration(following)
    return f"iteration {it.index} done: hypervolume {hv}"


def _fidelity(batch: list[tuple[Any, Any]], config: StudyConfig) -> list[dict[str, Any]]:
    """Per objective: rank correlation and error of the batch's predictions against its measurements."""
    pairs = [(p, m) for p, m in batch if p is not None and m is not None]
    if not pairs:
        return []
    predicted = np.array([p for p, _ in pairs], dtype=np.float64)
    measured = np.array([m for _, m in pairs], dtype=np.float64)
    return [
        {"objective": objective.name, **quality.to_dict()}
        for objective, quality in zip(config.objectives, surrogate_fidelity(predicted, measured), strict=True)
    ]


def _fail(study_id: int, index: int, exc: Exception) -> None:
    """Record an iteration's failure and fail the study, with the reason in words.

    A finished iteration is never overwritten: an error after its finish was committed (while
    scheduling what follows) leaves it done, and the study running for the reconciler to carry on.
    """
    reason = f"{type(exc).__name__}: {exc}"
    logger.exception("study %s iteration %s failed", study_id, index)
    with transaction.atomic():
        failed = (
            Iteration.objects.filter(study_id=study_id, index=index)
            .exclude(status=Iteration.Status.DONE)
            .update(
                status=Iteration.Status.FAILED,
                error=reason,
                finished_at=timezone.now(),
                version=bump_version(study_id),
            )
        )
        if not failed:
            logger.warning("study %s iteration %s was already done; the study carries on", study_id, index)
            return
        Study.objects.filter(pk=study_id).update(
            status=Study.Status.FAILED, error=f"iteration {index} failed: {reason}", updated_at=timezone.now()
        )
