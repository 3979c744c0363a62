"""Putting iterations on the queue, once the transaction that made them commits.

The database says what should run; Redis only carries it. Work that cannot be enqueued because Redis
is unreachable stays due in the database (an unfinished iteration whose job no queue holds), and the
reconciler enqueues it once Redis answers again: an enqueue failure is logged, never raised into the
iteration or the request that scheduled it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.queue_state import job_is_alive, job_is_waiting, redis_text
from search_engine.optimizer import iteration_seed
from search_engine.registry import EVALUATORS

logger = logging.getLogger(__name__)

ITERATION_JOB = "hytnas_web.studies.jobs.run_iteration"
"""The RQ job that runs one iteration of one study: ``ITERATION_JOB(study_id, index)``."""

QUEUE_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""Redis errors of a server that is down, restarting or out of reach (BusyLoadingError is one too)."""

__all__ = [
    "ITERATION_JOB",
    "QUEUE_UNREACHABLE",
    "Enqueueing",
    "current_iteration",
    "dispatch_of",
    "end_study",
    "enqueue_iteration",
    "enqueue_on_commit",
    "finish_if_budget_spent",
    "in_flight_target",
    "initial_design_measured",
    "job_is_alive",
    "job_is_waiting",
    "keep_in_flight",
    "nothing_succeeded",
    "out_of_patience",
    "proposal_due",
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


def enqueue_measurement(
    what: str, job: str, row_id: int, record_job_id: Callable[[str], object]
) -> Enqueueing:
    """Put ``job(row_id)`` on the evaluations queue once the transaction commits.

    ``what`` names the work in the queue's description and the log; ``record_job_id`` stores the
    job's id on the row. When Redis is unreachable the row stays due without a job, and the
    reconciler finds it.
    """

    def enqueue() -> None:
        import django_rq

        queue = django_rq.get_queue(settings.EVALUATION_QUEUE)
        queued = queue.enqueue(
            job,
            row_id,
            job_timeout=settings.RQ_QUEUES[settings.EVALUATION_QUEUE]["DEFAULT_TIMEOUT"],
            description=what,
        )
        record_job_id(queued.id)

    return enqueue_on_commit(what, enqueue)


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
    elif current.status == Iteration.Status.DONE and in_flight_target(study.config) is not None:
        return keep_in_flight(study)
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
            ITERATION_JOB,
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


FAILURE_REASONS_SHOWN = 3
"""Distinct failure reasons a study that failed for want of one success names (most frequent first)."""


def nothing_succeeded(study: Study) -> str | None:
    """Why a study cannot go on when not one of its measured evaluations succeeded, else None.

    A search needs successes to learn from: proposing more architectures after every one failed
    (a broken evaluation command, a board that is unplugged) would only spend the budget on the same
    failure. The reason names how many failed and their most frequent reasons.
    """
    evaluations = study.evaluations.exclude(status=Evaluation.Status.PENDING)
    if not evaluations.exists() or evaluations.filter(status=Evaluation.Status.DONE).exists():
        return None
    reasons = list(
        evaluations.values_list("error")
        .annotate(n=Count("id"))
        .order_by("-n", "error")[:FAILURE_REASONS_SHOWN]
    )
    n_failed = evaluations.count()
    listed = "; ".join(f"{n} × {error or 'no reason recorded'}" for error, n in reasons)
    return f"not one of its {n_failed} measured evaluations succeeded, so nothing more is proposed: {listed}"


def end_study(study: Study, why: str) -> None:
    """End a running study: completed, saying ``why``, or failed when not one evaluation succeeded.

    The one place a study ends of itself, synchronous or keeping N in flight, so every ending says why.
    """
    failure = nothing_succeeded(study)
    changes: dict[str, Any] = (
        {"status": Study.Status.FAILED, "error": failure}
        if failure is not None
        else {"status": Study.Status.COMPLETED, "end_reason": why}
    )
    Study.objects.filter(pk=study.pk, status=Study.Status.RUNNING).update(
        **changes, updated_at=timezone.now()
    )
    for name, value in changes.items():
        setattr(study, name, value)


def finish_if_budget_spent(study: Study) -> bool:
    """Complete the study when its evaluations reach the budget; True when it did.

    Never while an iteration is unfinished: its pending evaluations count towards the budget, so the
    budget looks spent before they are measured.
    """
    if study.evaluations.count() < study.budget:
        return False
    if study.iterations.exclude(status=Iteration.Status.DONE).exists():
        return False
    end_study(study, f"its budget of {study.budget} evaluations is spent")
    return True


def out_of_patience(study: Study, patience: int | None) -> bool:
    """True when the last ``patience`` iterations brought no hypervolume gain."""
    if not patience:
        return False
    history = list(
        study.iterations.filter(status=Iteration.Status.DONE)
        .order_by("index")
        .values_list("hypervolume", flat=True)
    )
    if len(history) <= patience:
        return False
    best_before = max((h for h in history[:-patience] if h is not None), default=None)
    recent = [h for h in history[-patience:] if h is not None]
    return best_before is not None and all(h <= best_before * (1 + 1e-12) for h in recent)


def dispatch_of(config: Mapping[str, Any]) -> str:
    """Where a stored configuration's evaluator runs: ``inline``, ``queue`` or ``remote``.

    ``inline`` for an evaluator this installation no longer has: the iteration job then reports why
    it cannot build it.
    """
    name = str(config.get("evaluator", {}).get("name", ""))
    if name not in EVALUATORS:
        return "inline"
    return str(EVALUATORS.load(name).DISPATCH)


def in_flight_target(config: Mapping[str, Any]) -> int | None:
    """N for a stored configuration that keeps N architectures in flight, None for synchronous batches.

    Only evaluators measured outside the iteration job (``queue`` and ``remote`` dispatch) can have
    work in flight; the study form refuses the setting for the others, and a configuration that
    reached the database another way runs them in synchronous batches.
    """
    target = config.get("in_flight")
    if target is None or dispatch_of(config) == "inline":
        return None
    return int(target)


@dataclass(frozen=True)
class InFlight:
    """Where a study that keeps N in flight stands: what is being measured, what the budget allows."""

    target: int
    n_pending: int
    n_total: int
    budget: int
    stopped: bool
    """The space ran out (the last proposal found nothing new) or patience ran out: no more proposals."""
    exhausted: bool = False
    """The space ran out."""

    @property
    def room(self) -> int:
        """How many architectures the next proposal may add: up to N in flight, never past the budget."""
        return max(0, min(self.target - self.n_pending, self.budget - self.n_total))

    def end_reason(self, patience: int | None) -> str:
        """Why a finished study ended, in words."""
        if self.n_total >= self.budget:
            return f"its budget of {self.budget} evaluations is spent"
        if self.exhausted:
            return f"its search space has no architecture left to propose ({self.n_total} measured)"
        return f"patience ran out: no hypervolume gain in its last {patience} proposals"

    @property
    def finished(self) -> bool:
        """True when nothing is in flight and nothing more will be proposed."""
        return self.n_pending == 0 and (self.stopped or self.n_total >= self.budget)


def in_flight_state(study: Study, target: int) -> InFlight:
    """Count a study's evaluations in flight and in all (every evaluation spends the budget)."""
    n_pending = study.evaluations.filter(status=Evaluation.Status.PENDING).count()
    last = study.iterations.filter(status=Iteration.Status.DONE).order_by("-index").first()
    exhausted = last is not None and bool(last.diagnostics.get("space_exhausted"))
    return InFlight(
        target=target,
        n_pending=n_pending,
        n_total=study.evaluations.count(),
        budget=study.budget,
        stopped=exhausted or out_of_patience(study, study.patience),
        exhausted=exhausted,
    )


def initial_design_measured(study: Study) -> bool:
    """True once the initial design (iteration 0) has been proposed and none of it is pending."""
    initial = study.iterations.filter(index=0, status=Iteration.Status.DONE).first()
    if initial is None:
        return False
    return not initial.evaluations.filter(status=Evaluation.Status.PENDING).exists()


def proposal_due(study: Study) -> bool:
    """True when a study keeping N in flight needs a proposal or its completion, and none is under way."""
    target = in_flight_target(study.config)
    if target is None or study.iterations.exclude(status=Iteration.Status.DONE).exists():
        return False
    state = in_flight_state(study, target)
    return state.finished or (state.room > 0 and not state.stopped)


def keep_in_flight(study: Study) -> Enqueueing | None:
    """After a result or a proposal of a study keeping N in flight: propose at once, complete, or wait.

    Called with the study row locked (``select_for_update``), which serialises every decision: at
    most one proposal is under way at a time (it calls this again once its architectures are
    stored), so concurrent results never propose more than N in flight or past the budget. A new
    proposal is a new iteration, enqueued once the transaction commits. Returns None when the study
    completed, else the enqueueing (already ``queued`` when nothing needed enqueueing).
    """
    target = in_flight_target(study.config)
    nothing_to_enqueue = Enqueueing(queued=True)
    if target is None or study.status != Study.Status.RUNNING:
        return nothing_to_enqueue
    if study.iterations.exclude(status=Iteration.Status.DONE).exists():
        return nothing_to_enqueue  # the proposal under way looks again when it is stored
    state = in_flight_state(study, target)
    if state.finished:
        end_study(study, state.end_reason(study.patience))
        return None
    if initial_design_measured(study) and nothing_succeeded(study) is not None:
        end_study(study, "")  # fails it, naming the reasons
        return None
    if state.stopped or state.room == 0:
        return nothing_to_enqueue
    last = study.iterations.order_by("-index").values_list("index", flat=True).first()
    index = 0 if last is None else last + 1
    following = Iteration.objects.create(study=study, index=index, seed=iteration_seed(study.seed, index))
    return enqueue_iteration(following)
