"""The bridge between database rows and the engine: the only module that imports search_engine.

Views and jobs call these functions; they decide nothing about optimisation themselves. State
changes happen in transactions, and work is enqueued only after the transaction commits, so a job
never starts on rows another transaction has not written yet.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from hytnas_web.studies.models import ComponentKind, ComponentSetting, Evaluation, Iteration, Preset, Study
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.metrics.fidelity import surrogate_fidelity
from search_engine.objectives import (
    ReferencePoint,
    derive_reference_point,
    from_minimisation,
    to_minimisation,
)
from search_engine.optimizer import initial_design, iteration_seed, propose
from search_engine.presets import PRESETS
from search_engine.runner import current_hypervolume
from search_engine.types import EvaluationResult

logger = logging.getLogger(__name__)

COMPONENT_KINDS = [kind.value for kind in ComponentKind]


def study_config(study: Study) -> StudyConfig:
    """The engine configuration of ``study`` (not validated)."""
    components = {c.kind: ComponentSpec(c.name, dict(c.params)) for c in study.components.all()}
    return StudyConfig.from_dict(
        {
            "space": study.space,
            "evaluator": study.evaluator,
            "objectives": study.objectives,
            "ref_point": study.ref_point,
            **{kind: spec.to_dict() for kind, spec in components.items()},
            "n_init": study.n_init,
            "batch_size": study.batch_size,
            "budget": study.budget,
            "seed": study.seed,
            "patience": study.patience,
        }
    )


@transaction.atomic
def save_study(
    owner: AbstractBaseUser, name: str, config: StudyConfig, preset: Preset | None = None
) -> Study:
    """A new draft study holding ``config`` (validated first; ConfigError names the bad field)."""
    config.validate()
    data = config.to_dict()
    study = Study.objects.create(
        owner=owner,
        name=name,
        space=data["space"],
        evaluator=data["evaluator"],
        objectives=data["objectives"],
        ref_point=data["ref_point"],
        n_init=config.n_init,
        batch_size=config.batch_size,
        budget=config.budget,
        seed=config.seed,
        patience=config.patience,
        preset=preset,
    )
    ComponentSetting.objects.bulk_create(
        ComponentSetting(study=study, kind=kind, name=data[kind]["name"], params=data[kind]["params"])
        for kind in COMPONENT_KINDS
    )
    return study


def sync_builtin_presets() -> list[Preset]:
    """Make the built-in Preset rows match ``search_engine.presets`` (created or brought up to date)."""
    presets = []
    for key, engine_preset in PRESETS.items():
        with transaction.atomic():
            preset, _ = Preset.objects.update_or_create(
                owner=None,
                key=key,
                defaults={
                    "label": engine_preset.label,
                    "description": engine_preset.description,
                    "n_init": engine_preset.n_init,
                    "batch_size": engine_preset.batch_size,
                },
            )
            wanted = {kind: spec.to_dict() for kind, spec in engine_preset.components.items()}
            if preset_components(preset) != wanted:
                preset.components.all().delete()
                ComponentSetting.objects.bulk_create(
                    ComponentSetting(preset=preset, kind=kind, name=spec["name"], params=spec["params"])
                    for kind, spec in wanted.items()
                )
        presets.append(preset)
    return presets


def preset_components(preset: Preset) -> dict[str, dict[str, Any]]:
    """``{kind: {"name": ..., "params": {...}}}`` of a preset, for pre-filling the study form."""
    return {c.kind: c.to_spec() for c in preset.components.all()}


@transaction.atomic
def save_preset(owner: AbstractBaseUser, study: Study, key: str, label: str, description: str = "") -> Preset:
    """Save ``study``'s components and sizes as the owner's named preset (replacing one of the same key)."""
    Preset.objects.filter(owner=owner, key=key).delete()
    preset = Preset.objects.create(
        owner=owner,
        key=key,
        label=label,
        description=description,
        n_init=study.n_init,
        batch_size=study.batch_size,
    )
    ComponentSetting.objects.bulk_create(
        ComponentSetting(preset=preset, kind=c.kind, name=c.name, params=dict(c.params))
        for c in study.components.all()
    )
    return preset


def clone_study(study: Study, owner: AbstractBaseUser, name: str | None = None) -> Study:
    """A new draft with ``study``'s configuration (no evaluations)."""
    return save_study(owner, name or f"{study.name} (copy)", study_config(study), preset=study.preset)


# --- study lifecycle: start, pause, resume, cancel, retry ---


class ActionNotAllowed(Exception):
    """A lifecycle action that the study's current status does not allow; the message says why."""


ACTIONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    Study.Status.DRAFT: ("start", "cancel"),
    Study.Status.RUNNING: ("pause", "cancel"),
    Study.Status.PAUSED: ("resume", "cancel"),
    Study.Status.FAILED: ("retry", "cancel"),
    Study.Status.COMPLETED: (),
    Study.Status.CANCELLED: (),
}


def allowed_actions(study: Study) -> list[str]:
    """Lifecycle actions the study's status allows, in display order."""
    return list(ACTIONS_BY_STATUS.get(study.status, ()))


def _transition(study: Study, action: str, to: str) -> Study:
    """Lock the study row, check ``action`` is allowed, set its status; returns the locked row."""
    locked = Study.objects.select_for_update().get(pk=study.pk)
    if action not in allowed_actions(locked):
        raise ActionNotAllowed(f"cannot {action} a {locked.get_status_display().lower()} study")
    locked.status = to
    locked.save(update_fields=["status", "updated_at"])
    study.status = to
    return locked


@transaction.atomic
def start_study(study: Study) -> None:
    """Draft -> running: create the initial-design iteration and enqueue it once committed."""
    locked = _transition(study, "start", Study.Status.RUNNING)
    iteration, _ = Iteration.objects.get_or_create(
        study=locked, index=0, defaults={"seed": iteration_seed(locked.seed, 0)}
    )
    enqueue_iteration(iteration)


@transaction.atomic
def pause_study(study: Study) -> None:
    """Running -> paused: the running job stops before its next evaluation, keeping every result."""
    _transition(study, "pause", Study.Status.PAUSED)


@transaction.atomic
def resume_study(study: Study) -> None:
    """Paused -> running: the current iteration carries on where it stopped."""
    locked = _transition(study, "resume", Study.Status.RUNNING)
    _schedule_current(locked)


@transaction.atomic
def cancel_study(study: Study) -> None:
    """Any unfinished study -> cancelled; measurements made so far stay."""
    _transition(study, "cancel", Study.Status.CANCELLED)


@transaction.atomic
def retry_study(study: Study) -> None:
    """Failed -> running: the failed iteration is reset and run again."""
    locked = _transition(study, "retry", Study.Status.RUNNING)
    locked.error = ""
    locked.save(update_fields=["error"])
    Iteration.objects.filter(study=locked, status=Iteration.Status.FAILED).update(
        status=Iteration.Status.PENDING, error=""
    )
    _schedule_current(locked)


def _schedule_current(study: Study) -> None:
    """Enqueue the study's unfinished iteration, creating the next one if the last is done."""
    current = study.iterations.order_by("-index").first()
    if current is None:
        current = Iteration.objects.create(study=study, index=0, seed=iteration_seed(study.seed, 0))
    elif current.status == Iteration.Status.DONE:
        if _finish_if_budget_spent(study):
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


# --- running one iteration (called by the RQ job) ---


def run_iteration(study_id: int, index: int, job_id: str = "") -> str:
    """Run iteration ``index`` of a study to its end: propose (once), evaluate what is pending, finish.

    Idempotent: a second call for a finished iteration does nothing; a call while another live job
    runs it backs off; a call after a crash picks up the stored proposal and evaluates only what is
    still pending. Returns a short description of what happened (shown in the RQ dashboard).
    """
    claim = _claim(study_id, index, job_id)
    if claim is not None:
        return claim
    iteration = Iteration.objects.select_related("study").get(study_id=study_id, index=index)
    study = iteration.study
    heartbeat = _Heartbeat(iteration.pk)
    heartbeat.start()
    try:
        config = study_config(study)
        if not iteration.evaluations.exists() and not _propose(study, iteration, config):
            return _finish(study, iteration, config, exhausted=True)
        evaluator = config.build_evaluator()
        stopped = _evaluate_pending(study, iteration, evaluator, config)
        if stopped:
            return stopped
        return _finish(study, iteration, config)
    except Exception as exc:  # a failed iteration is recorded in words, never left "running"
        _fail(study_id, index, exc)
        return f"failed: {exc}"
    finally:
        heartbeat.stop()


def _claim(study_id: int, index: int, job_id: str) -> str | None:
    """Mark the iteration as ours, or say why not (done, not running, another live job has it)."""
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study_id)
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
        iteration.save(update_fields=["status", "job_id", "heartbeat_at", "attempts", "started_at"])
    return None


class _Heartbeat:
    """Refreshes ``Iteration.heartbeat_at`` from a thread while the job works, so a live job is
    never mistaken for a dead one during a long evaluation."""

    def __init__(self, iteration_pk: int) -> None:
        self.iteration_pk = iteration_pk
        self.interval = max(1.0, settings.HEARTBEAT_STALE_SECONDS / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(self.interval):
                Iteration.objects.filter(pk=self.iteration_pk, status=Iteration.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()


def _measured(study: Study, config: StudyConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every finished evaluation: cube points, objective rows (NaN for failures), keys."""
    rows = list(
        study.evaluations.exclude(status=Evaluation.Status.PENDING)
        .order_by("id")
        .values_list("x", "objectives", "key")
    )
    n_vars = config.build_space().n_vars
    X = np.array([r[0] for r in rows], dtype=np.float64).reshape(len(rows), n_vars)
    nan_row = [float("nan")] * config.n_objectives
    Y = np.array([r[1] if r[1] is not None else nan_row for r in rows], dtype=np.float64)
    return X, Y.reshape(len(rows), config.n_objectives), [r[2] for r in rows]


def _propose(study: Study, iteration: Iteration, config: StudyConfig) -> bool:
    """Store this iteration's batch as pending evaluations; False when nothing is left to propose."""
    X, Y, keys = _measured(study, config)
    remaining = study.budget - study.evaluations.count()
    if remaining <= 0:
        return False
    space = config.build_space()
    if iteration.index == 0:
        points = initial_design(config, min(study.n_init, remaining), iteration.seed, exclude=set(keys))
        proposal_mean = proposal_std = None
        origins = ["initial"] * points.shape[0]
        timings: dict[str, float] = {}
        diagnostics: dict[str, Any] = {"initial_design": True}
    else:
        proposal = propose(config, X, Y, iteration.seed, batch_size=min(study.batch_size, remaining))
        points, proposal_mean, proposal_std = proposal.X, proposal.mean, proposal.std
        origins, timings, diagnostics = proposal.origin, proposal.timings, proposal.diagnostics
    if points.shape[0] == 0:
        return False
    architectures = space.decode(points)
    new_keys = space.keys(points)
    source = Evaluation.Source.INITIAL if iteration.index == 0 else Evaluation.Source.OPTIMIZER
    with transaction.atomic():
        Evaluation.objects.bulk_create(
            [
                Evaluation(
                    study=study,
                    iteration=iteration,
                    position=i,
                    key=new_keys[i],
                    x=points[i].tolist(),
                    architecture=_jsonable(architectures[i]),
                    source=source,
                    origin="" if origins[i] == "initial" else origins[i],
                    predicted_mean=None if proposal_mean is None else proposal_mean[i].tolist(),
                    predicted_std=None if proposal_std is None else proposal_std[i].tolist(),
                )
                for i in range(points.shape[0])
            ],
            ignore_conflicts=True,  # a re-run after a crash proposes the same keys: never twice
        )
        Iteration.objects.filter(pk=iteration.pk).update(timings=timings, diagnostics=_jsonable(diagnostics))
    return True


def _evaluate_pending(study: Study, iteration: Iteration, evaluator: Any, config: StudyConfig) -> str | None:
    """Evaluate this iteration's pending architectures one by one, saving each result at once.

    Returns a reason when the study stopped being runnable (paused, cancelled) before the end.
    """
    for evaluation in iteration.evaluations.filter(status=Evaluation.Status.PENDING).order_by("position"):
        status = Study.objects.values_list("status", flat=True).get(pk=study.pk)
        if status != Study.Status.RUNNING:
            Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.PENDING)
            return f"stopped: study is {status}"
        [result] = evaluator.evaluate([evaluation.architecture])
        _save_result(evaluation, result)
    return None


def _save_result(evaluation: Evaluation, result: EvaluationResult) -> None:
    """Write one measurement (or failure) for a still-pending evaluation."""
    Evaluation.objects.filter(pk=evaluation.pk, status=Evaluation.Status.PENDING).update(
        status=Evaluation.Status.DONE if result.ok else Evaluation.Status.FAILED,
        objectives=list(result.objectives) if result.ok and result.objectives is not None else None,
        stage_latency=dict(result.stage_latency) if result.stage_latency is not None else None,
        metrics=_jsonable(dict(result.metrics)),
        error=result.error or "",
        seconds=result.seconds,
        finished_at=timezone.now(),
    )


def _reference_point(study: Study, config: StudyConfig, Y: np.ndarray) -> ReferencePoint | None:
    """The given reference point, or the one derived from the initial design (stored on the study)."""
    if study.ref_point is not None:
        return ReferencePoint(
            tuple(
                float(v) for v in to_minimisation(np.array(study.ref_point, dtype=float), config.objectives)
            ),
            study.ref_point_derived,
            "derived from the initial design" if study.ref_point_derived else "given",
        )
    try:
        derived = derive_reference_point(to_minimisation(Y, config.objectives))
    except ValueError:
        return None  # nothing has succeeded yet
    Study.objects.filter(pk=study.pk).update(
        ref_point=[float(v) for v in from_minimisation(derived.as_array(), config.objectives)],
        ref_point_derived=True,
    )
    return derived


def _finish(study: Study, iteration: Iteration, config: StudyConfig, exhausted: bool = False) -> str:
    """Record hypervolume and fidelity, then schedule the next iteration or complete the study."""
    X, Y, _ = _measured(study, config)
    reference = _reference_point(study, config, Y)
    hv = current_hypervolume(Y, config, reference) if reference is not None else None
    batch = list(iteration.evaluations.values_list("predicted_mean", "objectives"))
    fidelity = _fidelity(batch, config)
    evaluate_seconds = sum(iteration.evaluations.exclude(seconds=None).values_list("seconds", flat=True))
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
        it.save()
        if study.status != Study.Status.RUNNING:
            return f"iteration done; study is {study.status}"
        if exhausted or _finish_if_budget_spent(study) or _out_of_patience(study):
            if study.status == Study.Status.RUNNING:
                study.status = Study.Status.COMPLETED
                study.save(update_fields=["status", "updated_at"])
            return "study completed"
        following = Iteration.objects.create(
            study=study, index=it.index + 1, seed=iteration_seed(study.seed, it.index + 1)
        )
        study.save(update_fields=["updated_at"])
        enqueue_iteration(following)
    return f"iteration {it.index} done: hypervolume {hv}"


def _finish_if_budget_spent(study: Study) -> bool:
    """Complete the study when its evaluations reach the budget; True when it did."""
    if study.evaluations.count() < study.budget:
        return False
    Study.objects.filter(pk=study.pk, status=Study.Status.RUNNING).update(
        status=Study.Status.COMPLETED, updated_at=timezone.now()
    )
    study.status = Study.Status.COMPLETED
    return True


def _out_of_patience(study: Study) -> bool:
    """True when the last ``patience`` iterations brought no hypervolume gain."""
    if not study.patience:
        return False
    history = list(
        study.iterations.filter(status=Iteration.Status.DONE)
        .order_by("index")
        .values_list("hypervolume", flat=True)
    )
    if len(history) <= study.patience:
        return False
    best_before = max((h for h in history[: -study.patience] if h is not None), default=None)
    recent = [h for h in history[-study.patience :] if h is not None]
    return best_before is not None and all(h <= best_before * (1 + 1e-12) for h in recent)


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
    """Record an iteration's failure and fail the study, with the reason in words."""
    reason = f"{type(exc).__name__}: {exc}"
    logger.exception("study %s iteration %s failed", study_id, index)
    with transaction.atomic():
        Iteration.objects.filter(study_id=study_id, index=index).update(
            status=Iteration.Status.FAILED, error=reason, finished_at=timezone.now()
        )
        Study.objects.filter(pk=study_id).update(
            status=Study.Status.FAILED, error=f"iteration {index} failed: {reason}", updated_at=timezone.now()
        )


def _jsonable(value: Any) -> Any:
    """Plain JSON types for numpy scalars and arrays nested in dicts and lists."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


# --- reconciling the database with the queue ---


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
                    _schedule_current(locked)
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


# --- what pages show ---


def study_progress(study: Study) -> dict[str, Any]:
    """Counts and figures for lists and headers: evaluations done / failed / pending, best hypervolume."""
    counts = dict(
        study.evaluations.values_list("status").annotate(n=models.Count("id")).values_list("status", "n")
    )
    iterations = study.iterations.order_by("-index")
    last_done = iterations.filter(status=Iteration.Status.DONE).first()
    current = iterations.first()
    n_optimizer = max(0, math.ceil((study.budget - study.n_init) / max(study.batch_size, 1)))
    return {
        "n_done": counts.get(Evaluation.Status.DONE, 0),
        "n_failed": counts.get(Evaluation.Status.FAILED, 0),
        "n_pending": counts.get(Evaluation.Status.PENDING, 0),
        "n_evaluated": counts.get(Evaluation.Status.DONE, 0) + counts.get(Evaluation.Status.FAILED, 0),
        "budget": study.budget,
        "best_hypervolume": last_done.hypervolume if last_done is not None else None,
        "last_activity": study.updated_at,
        "iteration_index": current.index if current is not None else None,
        "n_iterations_planned": 1 + n_optimizer,
    }


# --- form support ---
# The study form hands plain values to these functions and shows the ConfigError they raise next to
# the input its ``field`` path names; nothing here is trusted to have been checked by the browser.

from search_engine.errors import ConfigError  # noqa: E402  (re-exported: forms catch it from here)

SPACE_KINDS = ("hytnas", "benchmark", "custom")
"""How the study form picks a space: the HyT-NAS space, the benchmark problem's own, or a JSON spec."""


def component_catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every registry's entries (key, label, parameter schema, capabilities) for drawing the study form."""
    from search_engine.registry import describe

    return describe()


def default_objectives(evaluator: str, n_obj: int = 2) -> list[dict[str, str]]:
    """The objectives an evaluator reports unless the user names others.

    A benchmark scores ``f1 .. fm`` (all minimised, no unit); a table evaluator defaults to the
    HyT-NAS pair, accuracy (max, %) and latency (min, ms).
    """
    from search_engine.evaluators.table import HYTNAS_OBJECTIVES

    if evaluator == "benchmark":
        return [{"name": f"f{i + 1}", "direction": "min", "unit": ""} for i in range(n_obj)]
    return [dict(o) for o in HYTNAS_OBJECTIVES]


def available_presets(owner: AbstractBaseUser) -> list[Preset]:
    """Built-in presets (created on first use) followed by the owner's own."""
    sync_builtin_presets()
    presets = Preset.objects.filter(models.Q(owner__isnull=True) | models.Q(owner=owner))
    return list(presets.order_by("owner_id", "label").prefetch_related("components"))


def study_tables(study: Study) -> list[dict[str, Any]]:
    """The measured tables a table-evaluator study was created with (``[]`` for other evaluators)."""
    if not isinstance(study.evaluator, dict) or study.evaluator.get("name") != "table":
        return []
    tables = (study.evaluator.get("params") or {}).get("tables") or []
    return [dict(t) for t in tables if isinstance(t, dict) and isinstance(t.get("text"), str)]


def config_from_form(data: dict[str, Any], tables: list[dict[str, Any]] | None = None) -> StudyConfig:
    """A validated StudyConfig from the study form's values.

    Args:
        data: ``space`` (one of SPACE_KINDS) and ``space_spec`` (parsed JSON of a custom space: a
            list of variables, ``{"variables": [...]}`` or ``{"name", "params"}``); ``evaluator``
            as ``{"name", "params"}`` (for ``table``, without tables, objectives and space, which
            come from the other values); ``objectives`` (list of {name, direction, unit}; empty =
            the evaluator's own); ``ref_point`` (list of numbers or None = derived); each component
            kind as ``{"name", "params"}``; ``n_init``, ``batch_size``, ``budget``, ``seed``,
            ``patience``.
        tables: for the table evaluator, ``[{"name", "text", "objectives": [names] or None}]``.

    Raises:
        ConfigError: naming the bad value as a dotted path (``surrogate.params.max_depth``,
            ``evaluator.params.tables[1]`` for a table's CSV error, with its line number in the
            message), so the form can show the message next to the right input.
    """
    try:
        return _config_from_form(data, tables or [])
    except ConfigError:
        raise
    except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError) as exc:
        # Hostile or unforeseen input must become a message, never a server error.
        logger.warning("study form values the engine could not take: %r", exc)
        raise ConfigError("config", f"this configuration cannot be used: {exc}") from None


def _config_from_form(data: dict[str, Any], tables: list[dict[str, Any]]) -> StudyConfig:
    from search_engine.registry import EVALUATORS

    evaluator_name = data["evaluator"]["name"]
    EVALUATORS.entry(evaluator_name, "evaluator.name")
    evaluator_params = dict(data["evaluator"].get("params") or {})
    objectives = list(data.get("objectives") or [])
    if evaluator_name == "benchmark":
        benchmark = EVALUATORS.build("benchmark", evaluator_params, "evaluator")
        n_obj = len(benchmark.objectives)
        objectives = objectives or default_objectives("benchmark", n_obj)
        if len(objectives) != n_obj:
            raise ConfigError(
                "objectives", f"the benchmark problem reports {n_obj} objectives; {len(objectives)} are named"
            )
        if data["space"] != "benchmark":
            raise ConfigError("space", "a benchmark problem is searched in its own space; choose that space")
        space = benchmark.default_space().to_spec()
    else:
        objectives = objectives or default_objectives(evaluator_name)
        space = _form_space(data["space"], data.get("space_spec"))
        evaluator_params = {
            **evaluator_params,
            "tables": _checked_tables(tables, space, objectives),
            "objectives": objectives,
            "space": space,
        }
    config = StudyConfig.from_dict(
        {
            "space": space,
            "evaluator": {"name": evaluator_name, "params": evaluator_params},
            "objectives": objectives,
            "ref_point": data.get("ref_point"),
            **{kind: data[kind] for kind in COMPONENT_KINDS},
            **{name: data.get(name) for name in ("n_init", "batch_size", "budget", "seed", "patience")},
        }
    ).validate()
    members = config.surrogate.params.get("surrogates") if config.surrogate.name == "mix" else None
    if isinstance(members, list | tuple) and len(members) != config.n_objectives:
        raise ConfigError(
            "surrogate.params.surrogates",
            f"give one surrogate per objective: {config.n_objectives}, not {len(members)}",
        )
    return config


def _form_space(kind: str, spec: Any) -> dict[str, Any]:
    """The ``{name, params}`` of the space a non-benchmark study searches."""
    from search_engine.registry import SPACES

    if kind == "hytnas":
        return {"name": "hytnas", "params": {}}
    if kind == "benchmark":
        raise ConfigError("space", "the benchmark problem's space goes with the benchmark evaluator")
    if kind != "custom":
        raise ConfigError("space", f"unknown kind of space {kind!r}; known: {', '.join(SPACE_KINDS)}")
    if isinstance(spec, list):
        spec = {"name": "generic", "params": {"variables": spec}}
    elif isinstance(spec, dict) and "name" not in spec:
        spec = {"name": "generic", "params": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("params", {}), dict):
        raise ConfigError(
            "space", 'expected a list of variables, {"variables": [...]} or {"name": ..., "params": {...}}'
        )
    checked = ComponentSpec.from_dict(spec, "space")
    SPACES.build(checked.name, checked.params, "space")
    return checked.to_dict()


def _checked_tables(
    tables: list[dict[str, Any]], space: dict[str, Any], objectives: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Parse every uploaded table now, so a bad cell is reported with its line before the study exists."""
    from search_engine.errors import DataError
    from search_engine.evaluators.table_csv import parse_table
    from search_engine.objectives import Objective
    from search_engine.registry import SPACES

    if not tables:
        raise ConfigError("evaluator.params.tables", "upload at least one table of measurements")
    parsed_objectives = [Objective.from_dict(o, f"objectives[{i}]") for i, o in enumerate(objectives)]
    names = [o.name for o in parsed_objectives]
    built_space = SPACES.build(space["name"], space.get("params") or {}, "space")
    entries, covered = [], set()
    for i, table in enumerate(tables):
        field = f"evaluator.params.tables[{i}]"
        wanted = table.get("objectives") or None
        unknown = [n for n in wanted or [] if n not in names]
        if unknown:
            known = ", ".join(names)
            raise ConfigError(f"{field}.objectives", f"unknown objective {unknown[0]!r}; known: {known}")
        if wanted is not None and len(set(wanted)) != len(wanted):
            raise ConfigError(f"{field}.objectives", "an objective is named twice")
        try:
            parsed = parse_table(table["text"], table["name"], built_space, parsed_objectives, wanted)
        except DataError as exc:
            raise ConfigError(field, str(exc)) from None
        covered.update(parsed.objectives)
        entries.append({"name": table["name"], "text": table["text"], "objectives": list(parsed.objectives)})
    missing = [n for n in names if n not in covered]
    if missing:
        raise ConfigError("evaluator.params.tables", f"no table measures objective {missing[0]!r}")
    return entries
