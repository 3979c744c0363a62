"""Figures the pages show: evaluations done, failed and pending, best hypervolume, the initial design."""

from __future__ import annotations

from typing import Any

from django.db import models

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.scheduling import in_flight_target
from hytnas_web.studies.services.warm_start import initial_design_of, iterations_planned


def study_progress(study: Study) -> dict[str, Any]:
    """Counts and figures for lists and headers: evaluations done / failed / pending, best hypervolume.

    A study keeping N in flight has no planned number of iterations (``n_iterations_planned`` is
    None): each proposal is one iteration, made whenever a result leaves room.
    """
    counts = dict(
        study.evaluations.values_list("status").annotate(n=models.Count("id")).values_list("status", "n")
    )
    iterations = study.iterations.order_by("-index")
    last_done = iterations.filter(status=Iteration.Status.DONE).first()
    current = iterations.first()
    initial = initial_design_of(study)
    n_pending = counts.get(Evaluation.Status.PENDING, 0)
    in_flight = in_flight_target(study.config)
    planned = iterations_planned(study, initial) if in_flight is None else None
    ended = study.get_status_display().lower() if study.status in ENDED else None
    return {
        "n_done": counts.get(Evaluation.Status.DONE, 0),
        "n_failed": counts.get(Evaluation.Status.FAILED, 0),
        "n_pending": counts.get(Evaluation.Status.PENDING, 0),
        "n_evaluated": counts.get(Evaluation.Status.DONE, 0) + counts.get(Evaluation.Status.FAILED, 0),
        "budget": study.budget,
        "best_hypervolume": last_done.hypervolume if last_done is not None else None,
        "last_activity": study.updated_at,
        "iteration_index": current.index if current is not None else None,
        "n_iterations_planned": planned,
        "initial_design_text": initial.text(),
        "in_flight_target": in_flight,
        "n_pending_text": _in_flight_text(n_pending, in_flight, ended),
        "iteration_text": _iteration_text(current.index if current is not None else None, planned, ended),
    }


ENDED = (Study.Status.COMPLETED, Study.Status.CANCELLED, Study.Status.FAILED)
"""Statuses in which nothing more is proposed: figures then say what was done, not what is planned."""


def _iteration_text(index: int | None, planned: int | None, ended: str | None = None) -> str:
    """``3 of 7``, or (N in flight: one proposal per result that left room) ``proposal 12``.

    For a study that has ended (``ended`` names its status), how many ran: ``ended after 3 (of 7 planned)``.
    """
    if ended is not None and index is not None:
        if planned is None:
            return f"{ended} after proposal {index}"
        return f"{ended} after {index + 1} of {planned} planned"
    if planned is None:
        return "not started" if index is None else f"proposal {index} (0: the initial design)"
    return f"not started ({planned} planned)" if index is None else f"{index + 1} of {planned}"


def _in_flight_text(n_pending: int, in_flight: int | None, ended: str | None = None) -> str:
    """``7`` pending, or ``3 in flight of 4``; a larger initial design is handed out whole, and says so.

    Once the study has ended, architectures still pending will not be measured: ``10 not measured``.
    """
    if ended is not None:
        return f"{n_pending} not measured ({ended})" if n_pending else "0"
    if in_flight is None:
        return str(n_pending)
    if n_pending > in_flight:
        return f"{n_pending} in flight (the initial design, handed out whole; then {in_flight} at most)"
    return f"{n_pending} in flight of {in_flight}"
