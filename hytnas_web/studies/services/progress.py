"""Figures the pages show: evaluations done, failed and pending, best hypervolume, the initial design."""

from __future__ import annotations

from typing import Any

from django.db import models

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.warm_start import initial_design_of, iterations_planned


def study_progress(study: Study) -> dict[str, Any]:
    """Counts and figures for lists and headers: evaluations done / failed / pending, best hypervolume."""
    counts = dict(
        study.evaluations.values_list("status").annotate(n=models.Count("id")).values_list("status", "n")
    )
    iterations = study.iterations.order_by("-index")
    last_done = iterations.filter(status=Iteration.Status.DONE).first()
    current = iterations.first()
    initial = initial_design_of(study)
    return {
        "n_done": counts.get(Evaluation.Status.DONE, 0),
        "n_failed": counts.get(Evaluation.Status.FAILED, 0),
        "n_pending": counts.get(Evaluation.Status.PENDING, 0),
        "n_evaluated": counts.get(Evaluation.Status.DONE, 0) + counts.get(Evaluation.Status.FAILED, 0),
        "budget": study.budget,
        "best_hypervolume": last_done.hypervolume if last_done is not None else None,
        "last_activity": study.updated_at,
        "iteration_index": current.index if current is not None else None,
        "n_iterations_planned": iterations_planned(study, initial),
        "initial_design_text": initial.text(),
    }
