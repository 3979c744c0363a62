"""Keeping studies in order: rename, notes, archive, delete, and finding one among hundreds.

None of this touches the search itself: a renamed or archived study runs on as it was, and notes are
the owner's own words, never read by the optimizer. Deleting is the one step that loses data, so
``deletion_losses`` says beforehand exactly what would go, and the page asks for confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.versions import bump_version

MAX_NOTES_CHARS = 20_000
"""Notes are free text, not a data store: longer ones are refused with this figure in the message."""

StudySort = Literal["updated", "created", "name", "status", "evaluator", "hypervolume"]
"""What the study list can be sorted by (newest or largest first for dates and hypervolume)."""

STUDY_SORTS: tuple[str, ...] = get_args(StudySort)


@dataclass(frozen=True)
class DeletionLosses:
    """What deleting a study loses, in the counts the confirmation page names."""

    n_measured: int
    n_failed: int
    n_pending: int
    n_iterations: int
    n_tokens: int
    """Worker tokens made for this study alone (tokens for all of the owner's studies stay)."""
    running: bool
    n_warm_started: int
    """Studies that copied this one's measurements: they keep their copies."""


def deletion_losses(study: Study) -> DeletionLosses:
    """Everything that goes with ``study`` if it is deleted."""
    counts = dict(
        study.evaluations.values_list("status").annotate(n=models.Count("id")).values_list("status", "n")
    )
    return DeletionLosses(
        n_measured=counts.get(Evaluation.Status.DONE, 0),
        n_failed=counts.get(Evaluation.Status.FAILED, 0),
        n_pending=counts.get(Evaluation.Status.PENDING, 0),
        n_iterations=study.iterations.count(),
        n_tokens=study.worker_tokens.count(),
        running=study.status == Study.Status.RUNNING,
        n_warm_started=Study.objects.filter(warm_start_from=study).count(),
    )


@transaction.atomic
def delete_study(study: Study) -> str:
    """Delete the study with its iterations, evaluations and its own worker tokens; returns its name.

    A running study is cancelled in the same transaction first, so a job that comes to it afterwards
    finds no study and does nothing (every job starts by loading what it works on).
    """
    locked = Study.objects.select_for_update().get(pk=study.pk)
    name = locked.name
    if locked.status == Study.Status.RUNNING:
        Study.objects.filter(pk=locked.pk).update(status=Study.Status.CANCELLED)
    locked.delete()
    return name


def rename_study(study: Study, name: str) -> None:
    """Give the study a new name (the form has checked it); the live page picks it up."""
    study.name = name
    study.version = bump_version(study.pk)
    study.save(update_fields=["name", "version", "updated_at"])


def set_study_notes(study: Study, notes: str) -> None:
    """Replace the study's notes."""
    study.notes = notes
    study.save(update_fields=["notes", "updated_at"])


def set_evaluation_notes(evaluation: Evaluation, notes: str) -> None:
    """Replace an architecture's notes (its measurements are untouched)."""
    evaluation.notes = notes
    evaluation.save(update_fields=["notes"])


def set_archived(study: Study, archived: bool) -> None:
    """Archive (out of the default list, kept whole, still runnable) or bring back."""
    study.archived_at = timezone.now() if archived else None
    study.save(update_fields=["archived_at", "updated_at"])


def find_studies(
    owner: User,
    text: str = "",
    status: str = "",
    evaluator: str = "",
    archived: bool = False,
    sort: StudySort = "updated",
) -> QuerySet[Study]:
    """The owner's studies matching the list's search and filters, in the chosen order.

    ``text`` matches the name or the notes (case-insensitive); ``archived`` True lists the archived
    studies instead of the others. Ties are broken by id so that paging is stable.
    """
    studies = Study.objects.filter(owner=owner, archived_at__isnull=not archived)
    if text:
        studies = studies.filter(Q(name__icontains=text) | Q(notes__icontains=text))
    if status:
        studies = studies.filter(status=status)
    if evaluator:
        studies = studies.filter(evaluator_name=evaluator)
    if sort == "hypervolume":
        studies = studies.annotate(best_hypervolume=Max("iterations__hypervolume"))
        return studies.order_by(models.F("best_hypervolume").desc(nulls_last=True), "-id")
    order = {
        "updated": ("-updated_at", "-id"),
        "created": ("-created_at", "-id"),
        "name": ("name", "id"),
        "status": ("status", "-updated_at", "-id"),
        "evaluator": ("evaluator_name", "-updated_at", "-id"),
    }[sort]
    return studies.order_by(*order)


def owner_evaluators(owner: User) -> list[str]:
    """The evaluator names the owner's studies use, for the list's filter."""
    names = Study.objects.filter(owner=owner).values_list("evaluator_name", flat=True).distinct()
    return sorted(set(names))
