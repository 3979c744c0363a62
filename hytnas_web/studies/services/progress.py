"""Figures the pages show: evaluations done, failed and pending, best hypervolume."""

from __future__ import annotations

import math
from typing import Any

from django.db import models

from hytnas_web.studies.models import Evaluation, Iteration, Study


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
