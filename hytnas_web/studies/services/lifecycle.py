"""Study lifecycle: start, pause, resume, cancel, retry — state changes that schedule work.

Start, resume and retry take effect in the database whether or not Redis answers: they return the
``Enqueueing`` of the work they scheduled, whose ``failed`` says that the queue was unreachable and
the work waits in the database until the reconciler enqueues it.
"""

from __future__ import annotations

from django.db import transaction

from hytnas_web.studies.models import Iteration, Study
from hytnas_web.studies.services.scheduling import Enqueueing, enqueue_iteration, schedule_current
from search_engine.optimizer import iteration_seed


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
def start_study(study: Study) -> Enqueueing:
    """Draft -> running: create the initial-design iteration and enqueue it once committed."""
    locked = _transition(study, "start", Study.Status.RUNNING)
    iteration, _ = Iteration.objects.get_or_create(
        study=locked, index=0, defaults={"seed": iteration_seed(locked.seed, 0)}
    )
    return enqueue_iteration(iteration)


@transaction.atomic
def pause_study(study: Study) -> None:
    """Running -> paused: the running job stops before its next evaluation, keeping every result."""
    _transition(study, "pause", Study.Status.PAUSED)


@transaction.atomic
def resume_study(study: Study) -> Enqueueing | None:
    """Paused -> running: the current iteration carries on where it stopped."""
    locked = _transition(study, "resume", Study.Status.RUNNING)
    return schedule_current(locked)


@transaction.atomic
def cancel_study(study: Study) -> None:
    """Any unfinished study -> cancelled; measurements made so far stay."""
    _transition(study, "cancel", Study.Status.CANCELLED)


@transaction.atomic
def retry_study(study: Study) -> Enqueueing | None:
    """Failed -> running: every unfinished iteration runs again, the earliest first (then the next)."""
    locked = _transition(study, "retry", Study.Status.RUNNING)
    locked.error = ""
    locked.save(update_fields=["error"])
    Iteration.objects.filter(study=locked, status=Iteration.Status.FAILED).update(
        status=Iteration.Status.PENDING, error=""
    )
    return schedule_current(locked)
