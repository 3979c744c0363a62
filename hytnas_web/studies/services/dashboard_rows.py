"""The dashboard's reads: measured rows as named records, the cached front, architecture texts, predictions.

Rows are read with ``values_list`` (Django's JSON columns are decoded in one parse, see
``_decoded``) and handed on as ``MeasuredRow`` records, so code says ``row.objectives``, not ``r[3]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from django.core.cache import cache
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.dashboard_polls import Version, rows_seen_at
from hytnas_web.studies.services.feasibility import Feasibility, objective_bounds, rows_feasibility
from hytnas_web.studies.services.stages import network_summaries, reads_as_network
from search_engine.metrics.charts import ParetoChartData, compact_architectures, pareto_chart_data
from search_engine.objectives import Objective

FAILED_LISTED = 50
"""Failed evaluations listed on the dashboard (the newest); the architectures table has them all."""

FRONT_CACHE_SECONDS = 3600
"""How long a study's last computed front is kept to speed up the next poll."""

_SQL_CHUNK = 900
"""Ids per ``IN (...)`` query (SQLite limits a statement's parameters)."""

_MEASURED = ("id", "iteration_id", "status")
"""The plain columns every measured row starts with; JSON columns follow."""


class MeasuredRow(NamedTuple):
    """One finished evaluation as the charts read it (``stage_latency`` and ``error`` when asked for)."""

    id: int
    iteration_id: int | None
    status: str
    objectives: list[float] | None
    stage_latency: dict[str, float] | None = None
    error: str | None = None

    @property
    def measured(self) -> MeasuredRow:
        """The row with what the Pareto chart needs only (as the front cache keeps it)."""
        return MeasuredRow(self.id, self.iteration_id, self.status, self.objectives)


def measured_rows(queryset: Any, with_stage_latency: bool = False) -> list[MeasuredRow]:
    """``queryset``'s evaluations as ``MeasuredRow`` records, with their stage latency if asked."""
    json_fields = ("objectives", "stage_latency") if with_stage_latency else ("objectives",)
    return [MeasuredRow(*row) for row in _decoded(queryset, _MEASURED, json_fields)]


def front_rows(study: Study, version: Version, new_done: Sequence[Any]) -> list[MeasuredRow]:
    """Rows of the current front and of ``new_done``, without reading every measurement each poll.

    The front over all points is the front of (an earlier front ∪ every point measured since), as
    measured objectives never change. The last front computed is cached per study with the version
    it was computed at; without it (another process, an expired cache) every measurement is read.
    The cache holds plain tuples, so an entry outlives a change of this module's records. With
    bounds, the front is the feasible points' and the points breaking a bound are kept as well.
    """
    key = f"hytnas:dashboard-front:{study.pk}:{study.created_at.timestamp()}"
    cached = cache.get(key)
    done = study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id")
    if (
        isinstance(cached, dict)
        and cached["counter"] <= version.counter
        and cached["max_id"] <= version.max_id
    ):
        since = Q(version__gt=cached["counter"]) | Q(id__gt=cached["max_id"])
        rows = [*(MeasuredRow(*row) for row in cached["rows"]), *measured_rows(done.filter(since))]
    else:
        rows = measured_rows(done)
    fresh = (MeasuredRow(r.id, r.iteration_id, r.status, r.objectives) for r in new_done)
    merged = sorted({r.id: r.measured for r in [*rows, *fresh]}.values(), key=lambda r: r.id)
    check = row_checks(study, merged)
    data = pareto_data(merged, {}, objectives_of(study), None, max(len(merged), 1), check)
    # Points breaking a bound are kept too: the chart greys every one of them at each update.
    kept_ids = {*data.front_ids.tolist(), *data.ids[data.infeasible].tolist()}
    kept = [tuple(r.measured) for r in merged if r.id in kept_ids]
    cache.set(key, {"counter": version.counter, "max_id": version.max_id, "rows": kept}, FRONT_CACHE_SECONDS)
    return merged


def rows_of(pareto: ParetoChartData) -> list[MeasuredRow]:
    """Measured rows back from chart data (iteration already an index, so none is kept)."""
    return [
        MeasuredRow(int(i), None, Evaluation.Status.DONE, y)
        for i, y in zip(pareto.ids.tolist(), pareto.Y.tolist(), strict=True)
    ]


def objectives_of(study: Study) -> list[Objective]:
    return [Objective.from_dict(o) for o in study.objectives]


def pareto_data(
    rows: Sequence[MeasuredRow],
    index_of: dict[int, int],
    objectives: list[Objective],
    ref_point: Any,
    max_points: int,
    check: Feasibility | None = None,
) -> ParetoChartData:
    """Chart data from measured rows; failures (and malformed values) become NaN rows.

    ``check``: the rows against the study's bounds (``row_checks``); the front is the feasible points'.
    """
    m = len(objectives)
    nan = [math.nan] * m
    Y = np.array(
        [
            r.objectives
            if r.status == Evaluation.Status.DONE and r.objectives is not None and len(r.objectives) == m
            else nan
            for r in rows
        ],
        dtype=np.float64,
    ).reshape(len(rows), m)
    iterations = [index_of.get(r.iteration_id, -1) if r.iteration_id is not None else -1 for r in rows]
    ref = [float(v) for v in ref_point] if isinstance(ref_point, list) and len(ref_point) == m else None
    feasible = None if check is None else check.feasible
    return pareto_chart_data(
        [r.id for r in rows], iterations, Y, objectives, ref, max_points=max_points, feasible=feasible
    )


def row_checks(study: Study, rows: Sequence[MeasuredRow]) -> Feasibility | None:
    """``rows`` against the study's bounds (None without any), in their order."""
    return rows_feasibility(study, study_config(study), [r.id for r in rows])


def broken_bounds(
    pareto: ParetoChartData, rows: Sequence[MeasuredRow], check: Feasibility | None
) -> list[str]:
    """For each point ``pareto`` shows breaking a bound, the bounds it breaks and by how much, in words."""
    if check is None:
        return []
    position = {r.id: i for i, r in enumerate(rows)}
    return ["; ".join(check.broken(position[i])) for i in pareto.ids[pareto.infeasible].tolist()]


def chart_bounds(study: Study) -> list[tuple[int, float, str]]:
    """The bounds on the study's objectives, as the Pareto chart draws them."""
    return objective_bounds(study_config(study))


def front_data(study: Study, index_of: dict[int, int], objectives: list[Objective]) -> ParetoChartData:
    """Every measured point, unthinned: the front over all of them and rows to extend the chart with."""
    rows = measured_rows(study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id"))
    return pareto_data(
        rows, index_of, objectives, study.ref_point, max(len(rows), 1), row_checks(study, rows)
    )


def point_texts(study: Study, ids: list[int], thinned: bool) -> list[str]:
    """Compact architecture of each id, in the order of ``ids``."""
    if not ids:
        return []
    if thinned:
        found = architecture_texts(study, ids)
    else:
        found = _compact(study, study.evaluations.exclude(status=Evaluation.Status.PENDING))
    return [found.get(i, "") for i in ids]


def architecture_texts(study: Study, ids: Sequence[int]) -> dict[int, str]:
    """``id -> compact architecture`` of the given evaluations, in chunks the database accepts."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), _SQL_CHUNK):
        found.update(_compact(study, study.evaluations.filter(id__in=ids[start : start + _SQL_CHUNK])))
    return found


def _compact(study: Study, queryset: Any) -> dict[int, str]:
    """``id -> compact architecture`` of ``queryset``'s evaluations, in id order.

    A HyT-NAS architecture reads as its network, one line per stage (``services.stages``); one that
    is not whole (an import missing a variable) keeps the compact text.
    """
    rows = _decoded(queryset, ("id",), ("architecture",))
    ids = [evaluation_id for evaluation_id, _ in rows]
    architectures = [architecture for _, architecture in rows]
    texts: list[str | None] = [None] * len(rows)
    if reads_as_network(study):
        texts = network_summaries(study, architectures)
    missing = [k for k, text in enumerate(texts) if text is None]
    for k, text in zip(missing, compact_architectures([architectures[k] for k in missing]), strict=True):
        texts[k] = text
    return {i: text or "" for i, text in zip(ids, texts, strict=True)}


def _decoded(queryset: Any, plain: tuple[str, ...], json_fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows of ``plain`` columns then ``json_fields`` decoded, with one JSON parse for all rows.

    Django decodes a JSON column row by row; for tens of thousands of rows, fetching the stored
    text and parsing it as one JSON array is several times faster.
    """
    annotations = {f"_raw_{name}": Cast(name, TextField()) for name in json_fields}
    raw = list(queryset.annotate(**annotations).values_list(*plain, *annotations))
    k = len(plain)
    decoded = [
        json.loads("[" + ",".join(r[k + j] if r[k + j] is not None else "null" for r in raw) + "]")
        for j in range(len(json_fields))
    ]
    return [(*r[:k], *(column[n] for column in decoded)) for n, r in enumerate(raw)]


def predicted_values(
    study: Study, iterations: list[dict[str, Any]], objectives: list[Objective]
) -> tuple[list[int], np.ndarray] | None:
    """Predicted objective values of the latest proposed batch, or None (initial design, rank scores)."""
    latest = next((it for it in reversed(iterations) if it["index"] > 0), None)
    if latest is None or (latest["diagnostics"] or {}).get("predicts_values") is False:
        return None
    m = len(objectives)
    rows = [
        row
        for row in study.evaluations.filter(iteration_id=latest["id"])
        .exclude(predicted_mean=None)
        .order_by("id")
        .values_list("id", "predicted_mean", named=True)
        if isinstance(row.predicted_mean, list) and len(row.predicted_mean) == m
    ]
    if not rows:
        return None
    mean = np.array([r.predicted_mean for r in rows], dtype=np.float64).reshape(len(rows), m)
    return [r.id for r in rows], mean


def failed_evaluations(study: Study, version: Version) -> list[dict[str, Any]]:
    """The newest failed evaluations a client at ``version`` has seen: id, proposing iteration, why."""
    rows = (
        study.evaluations.filter(rows_seen_at(version), status=Evaluation.Status.FAILED)
        .order_by("-id")
        .values_list("id", "iteration__index", "error")[:FAILED_LISTED]
    )
    return [{"id": i, "iteration": index, "error": error} for i, index, error in rows]
