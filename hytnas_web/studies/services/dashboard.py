"""The study dashboard's answers: every chart for the first view, then only what changed for live polls.

Nothing here recomputes a hypervolume: the jobs store one per iteration (``Iteration.hypervolume``)
and the curve is read back. An answer carries the dashboard version it was built at
(``dashboard_polls.py``); a poll with the current version gets nothing, otherwise it gets the rows
stamped after its version, the recomputed front (small) and the per-iteration figures (small).
Rows are read by ``dashboard_rows.py``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils import timezone

from hytnas_web.studies import charts, formatting
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.dashboard_polls import Version, dashboard_version, rows_seen_at
from hytnas_web.studies.services.dashboard_rows import (
    MeasuredRow,
    architecture_texts,
    broken_bounds,
    chart_bounds,
    failed_evaluations,
    front_data,
    front_rows,
    measured_rows,
    objectives_of,
    pareto_data,
    point_texts,
    predicted_values,
    row_checks,
    rows_of,
)
from hytnas_web.studies.services.progress import study_progress
from hytnas_web.studies.services.references import reference_markers
from hytnas_web.studies.services.warm_start import warm_start_counts
from search_engine.errors import ConfigError
from search_engine.metrics.charts import (
    DEFAULT_MAX_POINTS,
    eta_seconds,
    fidelity_series,
    hypervolume_series,
    seconds_per_iteration,
    stage_latency_data,
    timing_series,
)
from search_engine.objectives import Objective, to_minimisation

MAX_POINTS = DEFAULT_MAX_POINTS
"""Points the Pareto chart shows at most; beyond, points far from the front are sampled."""

SMALL_FIGURES = ("hypervolume", "stage_latency", "fidelity", "timing")
"""Figures small enough to be sent whole whenever something changed."""

NOTES = {
    "pareto": "Nothing measured yet: points appear here as evaluations finish.",
    "hypervolume": "No hypervolume yet: it is recorded when the first iteration finishes.",
    "stage_latency": "This evaluator reports no per-stage latency (backbone / neck / head).",
    "stage_share": "This evaluator reports no per-stage latency, so there is no backbone share to show.",
    "fidelity": "No surrogate predictions to compare yet: the initial design is not predicted.",
    "timing": "No iteration has run yet.",
}
"""What a chart says instead of drawing when it has nothing to draw."""


def dashboard(study: Study, until: Version | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-able data: status, progress and every figure.

    ``until`` (default: the study's current version) is the version the answer carries; rows written
    after it are left to the next poll.
    """
    version = until or dashboard_version(study)
    objectives = objectives_of(study)
    iterations = _iterations(study)
    finished = study.evaluations.exclude(status=Evaluation.Status.PENDING)
    rows = measured_rows(finished.filter(rows_seen_at(version)).order_by("id"), with_stage_latency=True)
    index_of = {it["id"]: it["index"] for it in iterations}
    check = row_checks(study, rows)
    pareto = pareto_data(rows, index_of, objectives, study.ref_point, MAX_POINTS, check)
    texts = point_texts(study, pareto.ids.tolist(), thinned=pareto.thinned)
    front_ids = pareto.front_ids.tolist()
    stage = stage_latency_data([r.id for r in rows], [r.stage_latency for r in rows], front_ids)
    predicted = predicted_values(study, iterations, objectives)
    broken = broken_bounds(pareto, rows, check)
    figures: dict[str, Any] = {
        "pareto": charts.pareto_figure(
            pareto, texts, predicted, broken, chart_bounds(study), reference_markers(study)
        )
        if pareto.ids.shape[0]
        else None,
        "stage_share": charts.stage_share_figure(stage),
        **_small_figures(study, iterations, objectives, stage),
    }
    return {
        "version": str(version),
        **_header(study, iterations),
        "figures": figures,
        "notes": {name: NOTES[name] for name, figure in figures.items() if figure is None},
        "failed": failed_evaluations(study, version),
        "n_failed": sum(1 for r in rows if r.status == Evaluation.Status.FAILED),
    }


def dashboard_changes(study: Study, since: str | None, until: Version | None = None) -> dict[str, Any] | None:
    """What changed from the client's version ``since`` to ``until`` (default: now); None when nothing did.

    A missing or malformed ``since`` gets the whole dashboard (``"full": true``). Otherwise the
    answer holds the new version, status and progress, and when evaluations or iterations changed:
    the Pareto chart's new points (to extend trace 0) and its replaced overlays (front, reference
    point, predicted values), new failures, new backbone shares, the front's stage latency and,
    when an iteration changed, the per-iteration figures (hypervolume, fidelity, timing), whole.
    """
    seen = Version.parse(since)
    if seen is None:
        return {"full": True, **dashboard(study, until)}
    version = until or dashboard_version(study)
    if version == seen:
        return None
    iterations = _iterations(study)
    answer: dict[str, Any] = {"full": False, "version": str(version), **_header(study, iterations)}
    changed = _changed_rows(study, seen, version)
    iterations_changed = any(it["version"] > seen.counter for it in iterations)
    if not changed and not iterations_changed and version.counter == seen.counter:
        return answer  # a lifecycle change: status and progress only
    objectives = objectives_of(study)
    index_of = {it["id"]: it["index"] for it in iterations}
    new_done = [r for r in changed if r.status == Evaluation.Status.DONE]
    answer["pareto"], front_ids = _pareto_changes(
        study, version, iterations, objectives, new_done, int(answer["progress"]["n_done"])
    )
    front_stage = dict(study.evaluations.filter(id__in=front_ids).values_list("id", "stage_latency"))
    stage = stage_latency_data(list(front_stage), list(front_stage.values()), front_ids)
    new_stage = stage_latency_data([r.id for r in new_done], [r.stage_latency for r in new_done], [])
    answer["stage_shares"] = charts.rounded(new_stage.backbone_share)
    figures = _small_figures(study, iterations, objectives, stage)
    if not iterations_changed:  # the per-iteration curves are unchanged: only the front's latency may be
        figures = {"stage_latency": figures["stage_latency"]}
    answer["figures"] = figures
    answer["failed_new"] = [
        {"id": r.id, "iteration": index_of.get(r.iteration_id), "error": r.error}
        for r in changed
        if r.status == Evaluation.Status.FAILED
    ]
    answer["evaluations_changed"] = bool(changed)
    answer["iterations_changed"] = iterations_changed
    return answer


def _changed_rows(study: Study, seen: Version, version: Version) -> list[MeasuredRow]:
    """Evaluations finished or changed after ``seen`` and visible at ``version``, oldest first."""
    return list(
        study.evaluations.filter(Q(version__gt=seen.counter) | Q(id__gt=seen.max_id))
        .filter(rows_seen_at(version))
        .exclude(status=Evaluation.Status.PENDING)
        .order_by("id")
        .values_list(*MeasuredRow._fields, named=True)
    )


def _pareto_changes(
    study: Study,
    version: Version,
    iterations: list[dict[str, Any]],
    objectives: list[Objective],
    new_done: list[MeasuredRow],
    n_done: int,
) -> tuple[dict[str, Any], list[int]]:
    """The Pareto chart's update and the ids on the front.

    Up to three objectives the chart grows in place: the new points extend trace 0 and the overlays
    (front, reference point, predicted values) are replaced. Parallel coordinates cannot be extended,
    so with more objectives the figure is sent whole, thinned.
    """
    index_of = {it["id"]: it["index"] for it in iterations}
    if len(objectives) > 3:
        pareto = front_data(study, index_of, objectives)
        shown = pareto_data(rows_of(pareto), {}, objectives, study.ref_point, MAX_POINTS)
        figure = charts.pareto_figure(shown, [""] * int(shown.ids.shape[0]))
        return {"figure": figure}, pareto.front_ids.tolist()
    rows = front_rows(study, version, new_done)
    check = row_checks(study, rows)
    pareto = pareto_data(rows, index_of, objectives, study.ref_point, 10**12, check)
    front_ids = pareto.front_ids.tolist()
    texts = architecture_texts(study, sorted({*front_ids, *(r.id for r in new_done)}))
    new_rows = np.searchsorted(pareto.ids, [r.id for r in new_done]).tolist()
    points = charts.pareto_points(pareto, [texts.get(i, "") for i in pareto.ids.tolist()], new_rows)
    overlays = charts.pareto_overlays(
        pareto,
        [texts.get(i, "") for i in front_ids],
        predicted_values(study, iterations, objectives),
        broken_bounds(pareto, rows, check),
        reference_markers(study),
    )
    return {
        "points": points if new_done else None,
        "overlays": overlays,
        "title": charts.pareto_title(pareto, n_measured=n_done, sampled=n_done > MAX_POINTS),
    }, front_ids


def _iterations(study: Study) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in study.iterations.order_by("index").values(
            "id",
            "index",
            "status",
            "hypervolume",
            "n_evaluations",
            "timings",
            "fidelity",
            "diagnostics",
            "started_at",
            "finished_at",
            "version",
        )
    ]


def _header(study: Study, iterations: list[dict[str, Any]]) -> dict[str, Any]:
    """Status and progress, with time per iteration and an estimate of the time left."""
    progress = study_progress(study)
    done = [it for it in iterations if it["status"] == Iteration.Status.DONE]
    durations = [
        (it["finished_at"] - it["started_at"]).total_seconds()
        for it in done
        if it["started_at"] is not None and it["finished_at"] is not None
    ]
    per_iteration = seconds_per_iteration(durations)
    running = study.status == Study.Status.RUNNING
    if progress["n_iterations_planned"] is None:  # N in flight: the time left follows the results' pace
        eta = _eta_from_results(study, iterations, progress) if running else None
    else:
        remaining = max(0, int(progress["n_iterations_planned"]) - len(done))
        eta = eta_seconds(per_iteration, remaining) if running else None
    progress.update(
        last_activity=progress["last_activity"].isoformat(),
        n_iterations_done=len(done),
        seconds_per_iteration=per_iteration,
        eta_seconds=eta,
    )
    progress.update(
        seconds_per_iteration_text=duration_text(progress["seconds_per_iteration"]),
        eta_text=duration_text(progress["eta_seconds"]),
        best_hypervolume_text=formatting.number(progress["best_hypervolume"]),  # as the page writes it
    )
    return {
        "status": study.status,
        "status_label": study.get_status_display(),
        "active": study.status in (Study.Status.DRAFT, Study.Status.RUNNING, Study.Status.PAUSED),
        "progress": progress,
        "reference_point_text": reference_point_text(study),
    }


def reference_point_text(study: Study) -> str:
    """The configuration panel's reference point: ``(75, 3500)``, or that it is still to be derived.

    Sent with every live update, not only with the page: the first iteration of a study without one
    derives it, and the panel must say so while the page stays open.
    """
    ref = study.ref_point
    if ref is None:
        return "derived from the initial design once it is measured"
    text = "(" + ", ".join(formatting.number(v) for v in ref) + ")"
    return f"{text} — derived from the initial design" if study.ref_point_derived else text


def _eta_from_results(
    study: Study, iterations: list[dict[str, Any]], progress: dict[str, Any]
) -> float | None:
    """A study keeping N in flight: the evaluations left at the pace results have come since it started."""
    started = next((it["started_at"] for it in iterations if it["started_at"] is not None), None)
    measured_since = int(progress["n_evaluated"]) - sum(warm_start_counts(study).values())
    if started is None or measured_since <= 0:
        return None
    elapsed = (timezone.now() - started).total_seconds()
    return float(elapsed) / measured_since * max(0, int(progress["budget"]) - int(progress["n_evaluated"]))


def duration_text(seconds: float | None) -> str:
    """``3.2 s``, ``4 min 10 s`` or ``2 h 05 min``; a dash when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _small_figures(
    study: Study, iterations: list[dict[str, Any]], objectives: list[Objective], stage: Any
) -> dict[str, Any]:
    """The per-iteration figures and the front's stage latency: small, so always sent whole."""
    ref = (
        study.ref_point
        if isinstance(study.ref_point, list) and len(study.ref_point) == len(objectives)
        else None
    )
    hv = hypervolume_series(
        [it["index"] for it in iterations],
        [it["n_evaluations"] for it in iterations],
        [it["hypervolume"] if it["status"] == Iteration.Status.DONE else None for it in iterations],
        true_hypervolume=_true_hypervolume(study, objectives, ref),
        ref_point=ref,
    )
    names = [o.name for o in objectives]
    fidelity = fidelity_series(
        [it["index"] for it in iterations], [it["fidelity"] or [] for it in iterations], names
    )
    ran = [it for it in iterations if it["timings"]]
    timing = timing_series([it["index"] for it in ran], [it["timings"] for it in ran])
    return {
        "hypervolume": charts.hypervolume_figure(hv, objectives),
        "stage_latency": charts.stage_latency_figure(stage),
        "fidelity": charts.fidelity_figure(fidelity),
        "timing": charts.timing_figure(timing),
    }


def _true_hypervolume(study: Study, objectives: list[Objective], ref: list[float] | None) -> float | None:
    """Hypervolume of a benchmark problem's known front w.r.t. the study's reference point, else None."""
    evaluator = study.evaluator if isinstance(study.evaluator, dict) else {}
    if evaluator.get("name") != "benchmark" or ref is None:
        return None
    params = evaluator.get("params") or {}
    ref_min = tuple(float(v) for v in to_minimisation(np.array(ref, dtype=np.float64), objectives))
    return _benchmark_true_hypervolume(
        str(params.get("problem", "")),
        int(params.get("n_var", 0) or 0),
        int(params.get("n_obj", 0) or 0),
        ref_min,
    )


@functools.lru_cache(maxsize=64)
def _benchmark_true_hypervolume(
    problem: str, n_var: int, n_obj: int, ref_min: tuple[float, ...]
) -> float | None:
    """Cached: the true front is a constant of the problem, worth computing once per process."""
    from search_engine.evaluators.benchmark import BenchmarkEvaluator

    try:
        kwargs: dict[str, Any] = {"problem": problem}
        if n_var:
            kwargs["n_var"] = n_var
        if n_obj:
            kwargs["n_obj"] = n_obj
        value = BenchmarkEvaluator(**kwargs).true_hypervolume(ref_min)
    except (ConfigError, ValueError, TypeError):
        return None
    return value if math.isfinite(value) and value > 0.0 else None
