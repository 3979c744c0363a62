"""Warm start: measurements a study holds before its first iteration count as its initial design.

They arrive by a CSV import into the draft (``source=imported``) or, when the study is made, as a
copy of another of the owner's studies' successful measurements (``source=copied``; that study is
``Study.warm_start_from``). The initial-design iteration then samples only what is missing up to
``n_init`` (nothing when they are that many already) and records what it found in its diagnostics
(``"warm_start": {"imported": n, "copied": m}``), so the page can say where its initial design came
from even after more rows are imported. Like every evaluation they count towards the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.versions import bump_version
from search_engine.config import StudyConfig
from search_engine.objectives import Objective

WARM_START_SOURCES = (Evaluation.Source.IMPORTED, Evaluation.Source.COPIED)
"""Sources of measurements a study may hold before its first iteration."""


def warm_start_counts(study: Study) -> dict[str, int]:
    """``{"imported": n, "copied": m}``: the study's successful measurements made outside its iterations."""
    counts = dict(
        study.evaluations.filter(source__in=WARM_START_SOURCES, status=Evaluation.Status.DONE)
        .values_list("source")
        .annotate(n=Count("id"))
        .values_list("source", "n")
    )
    return {str(source): int(counts.get(source, 0)) for source in WARM_START_SOURCES}


def warm_start_candidates(owner: User) -> QuerySet[Study]:
    """The owner's studies with at least one successful measurement, newest first (``n_measured`` set)."""
    return (
        Study.objects.filter(owner=owner)
        .annotate(n_measured=Count("evaluations", filter=Q(evaluations__status=Evaluation.Status.DONE)))
        .filter(n_measured__gt=0)
        .order_by("-updated_at", "-id")
    )


def warm_start_problem(source: Study, config: StudyConfig) -> str | None:
    """Why ``source``'s measurements cannot be the initial design of a study of ``config``; None if they can.

    They can when ``source`` searches the same space (same variables, ranges and choices) and
    measured every objective of ``config`` under the same name, direction and unit (it may have
    measured more; those values are left out).
    """
    if source.space != config.to_dict()["space"]:
        return f"“{source.name}” searches a different space, so its architectures are not this study's"
    measured = {o["name"]: Objective.from_dict(o) for o in source.objectives}
    for objective in config.objectives:
        theirs = measured.get(objective.name)
        if theirs is None:
            return f"“{source.name}” did not measure the objective “{objective.name}”"
        if theirs.direction != objective.direction:
            return f"“{source.name}” {_verb(theirs)} “{objective.name}”, this study {_verb(objective)} it"
        if theirs.unit != objective.unit:
            return (
                f"“{source.name}” measured “{objective.name}” in {theirs.unit or 'no unit'}, "
                f"this study in {objective.unit or 'no unit'}"
            )
    if not source.evaluations.filter(status=Evaluation.Status.DONE).exists():
        return f"“{source.name}” has no successful measurement to copy"
    return None


def _verb(objective: Objective) -> str:
    return "maximises" if objective.direction == "max" else "minimises"


@transaction.atomic
def copy_measurements(source: Study, target: Study) -> int:
    """Copy ``source``'s successful measurements into ``target`` as ``source=copied``; returns how many.

    Each keeps its architecture (same space: same cube point and key), its objective values (in
    ``target``'s objective order), stage latency, metrics, device and duration; predictions are left
    behind, they were another surrogate's. Architectures ``target`` already holds are not copied
    again. The caller has checked ``warm_start_problem``.
    """
    names = [o["name"] for o in source.objectives]
    order = [names.index(o["name"]) for o in target.objectives]
    rows = source.evaluations.filter(status=Evaluation.Status.DONE).order_by("id")
    held = set(target.evaluations.values_list("key", flat=True))
    now = timezone.now()
    version = bump_version(target.pk)
    copies = [
        Evaluation(
            study=target,
            key=row.key,
            x=row.x,
            architecture=row.architecture,
            source=Evaluation.Source.COPIED,
            status=Evaluation.Status.DONE,
            objectives=[measured[i] for i in order],
            stage_latency=row.stage_latency,
            metrics=row.metrics,
            device=row.device,
            seconds=row.seconds,
            finished_at=now,
            version=version,
        )
        for row in rows.iterator(chunk_size=500)
        if row.key not in held and isinstance(measured := row.objectives, list)
    ]
    Evaluation.objects.bulk_create(copies, batch_size=500, ignore_conflicts=True)
    Study.objects.filter(pk=target.pk).update(warm_start_from=source, updated_at=now)
    target.warm_start_from = source
    return len(copies)


@dataclass(frozen=True)
class InitialDesign:
    """Where a study's initial design comes from: measurements already there, and sampled points.

    ``sampled`` is what the initial-design iteration sampled once it has run (``started``), else what
    it will sample when the study starts.
    """

    imported: int
    copied: int
    copied_from: str | None
    sampled: int
    started: bool

    @property
    def measured_before(self) -> int:
        """Measurements that were there before the first iteration."""
        return self.imported + self.copied

    def text(self) -> str:
        """``300 imported, 0 sampled`` / ``40 copied from “ZDT1 study”, 60 to sample``."""
        parts = []
        if self.copied:
            where = f"“{self.copied_from}”" if self.copied_from else "a study since deleted"
            parts.append(f"{self.copied} copied from {where}")
        if self.imported:
            parts.append(f"{self.imported} imported")
        parts.append(f"{self.sampled} sampled" if self.started else f"{self.sampled} to sample")
        return ", ".join(parts)


def initial_design_of(study: Study) -> InitialDesign:
    """What the study's initial design holds (as recorded by its first iteration, or as it stands)."""
    diagnostics = Iteration.objects.filter(study=study, index=0).values_list("diagnostics", flat=True).first()
    started = isinstance(diagnostics, dict) and "initial_design" in diagnostics  # it has been drawn
    recorded = diagnostics.get("warm_start") if isinstance(diagnostics, dict) else None
    source_name = (
        Study.objects.filter(pk=study.warm_start_from_id).values_list("name", flat=True).first()
        if study.warm_start_from_id is not None
        else None
    )
    if isinstance(recorded, dict):
        counts = {str(source): int(recorded.get(source, 0)) for source in WARM_START_SOURCES}
    else:  # not drawn yet (or drawn before warm starts were recorded): as the study stands
        counts = warm_start_counts(study)
    if started:
        sampled = study.evaluations.filter(iteration__index=0, source=Evaluation.Source.INITIAL).count()
    else:
        left = study.budget - study.evaluations.count()
        sampled = max(0, min(study.n_init - sum(counts.values()), left))
    return InitialDesign(
        imported=counts[Evaluation.Source.IMPORTED],
        copied=counts[Evaluation.Source.COPIED],
        copied_from=source_name,
        sampled=sampled,
        started=started,
    )


def iterations_planned(study: Study, initial: InitialDesign) -> int:
    """The initial-design iteration plus the optimizer batches that fill the budget after it."""
    after_initial = initial.measured_before + initial.sampled
    return 1 + max(0, math.ceil((study.budget - after_initial) / max(study.batch_size, 1)))
