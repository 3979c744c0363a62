"""The study dashboard's data: every chart for the first view, then only what changed for live polls.

Nothing here recomputes a hypervolume: the jobs store one per iteration (``Iteration.hypervolume``)
and the curve is read back. A dashboard *version* names what a client has seen: the study's change
counter (``Study.version``, bumped by the jobs, see ``versions.py``), its newest evaluation id (rows
created by other writers, such as an import) and its last update time (lifecycle actions). A poll
with the current version costs one small query and gets nothing; otherwise it gets the rows
stamped after its version, the recomputed front (small) and the per-iteration figures (small).
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Q, TextField
from django.db.models.functions import Cast

from hytnas_web.studies import charts
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.progress import study_progress
from search_engine.errors import ConfigError
from search_engine.metrics.charts import (
    DEFAULT_MAX_POINTS,
    ParetoChartData,
    compact_architectures,
    eta_seconds,
    fidelity_series,
    hypervolume_series,
    pareto_chart_data,
    seconds_per_iteration,
    stage_latency_data,
    timing_series,
)
from search_engine.objectives import Objective, to_minimisation

MAX_POINTS = DEFAULT_MAX_POINTS
"""Points the Pareto chart shows at most; beyond, points far from the front are sampled."""

FAILED_LISTED = 50
"""Failed evaluations listed on the dashboard (the newest); the architectures table has them all."""

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

POLL_SECONDS = 2.0
"""Seconds between two polls of a running study's dashboard (static/js/dashboard.js waits as long)."""

MAX_POLL_SECONDS = 10.0
"""Longest wait ``poll_interval`` asks for, however loaded the machine."""

BUSY_WATCHERS = 3
"""Watchers of one study (per web process) beyond which its version is held (``poll_target``)."""

WATCHER_SECONDS = 10.0
"""A client that has not polled for this long no longer counts as a watcher."""

HOLD_SECONDS = 1.0
"""How long a watched study's version is answered before a newer one is (``poll_target``)."""

RECENT_VERSIONS = 12
"""Versions of a watched study that answers start from; a client further behind gets everything.

Twelve held versions span more than MAX_POLL_SECONDS, so a client that waits as long as the server
asks still gets only the changes."""

ANSWER_CACHE_SECONDS = 120
"""How long a built answer is kept in the shared cache (it names its versions: it never goes stale)."""

FRONT_CACHE_SECONDS = 3600
"""How long a study's last computed front is kept to speed up the next poll."""

_SQL_CHUNK = 900
"""Ids per ``IN (...)`` query (SQLite limits a statement's parameters)."""


@dataclass(frozen=True)
class Version:
    """What a client has seen: change counter, newest evaluation id, last update (µs since epoch)."""

    counter: int
    max_id: int
    updated: int

    def __str__(self) -> str:
        return f"{self.counter}.{self.max_id}.{self.updated}"

    @classmethod
    def parse(cls, text: str | None) -> Version | None:
        """The version a client sent, or None when missing or malformed (it then gets everything)."""
        parts = (text or "").split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))


    def covers(self, other: Version) -> bool:
        """True when this version is at least as new as ``other`` in every part."""
        return self.counter >= other.counter and self.max_id >= other.max_id and self.updated >= other.updated


@dataclass(frozen=True)
class Probe:
    """A study's current version as a poll sees it, with what the answer cache keys need."""

    study_id: int
    owner_id: int
    created: int
    """µs since epoch: tells a study from an earlier one that had the same id."""
    version: Version
    at: float = 0.0
    """When it was read (``time.time()``)."""


def probe(study_id: int, owner_id: int) -> Probe:
    """The version of ``owner_id``'s study ``study_id``, in one query; ``Study.DoesNotExist`` for others.

    Every poll runs it, so it is one fixed statement rather than a queryset compiled each time (the
    ORM's compilation costs more than the query). The newest id comes from the index on study_id.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL, [study_id, study_id, owner_id])
        row = cursor.fetchone()
    if row is None:
        raise Study.DoesNotExist(f"no study {study_id} of user {owner_id}")
    updated, created = (_as_datetime(value) for value in row[2:4])
    version = Version(int(row[0]), int(row[1] or 0), _microseconds(updated))
    return Probe(study_id, owner_id, _microseconds(created), version, time.time())


_PROBE_SQL = (
    f"SELECT s.version, (SELECT MAX(e.id) FROM {Evaluation._meta.db_table} e WHERE e.study_id = %s),"
    f" s.updated_at, s.created_at FROM {Study._meta.db_table} s WHERE s.id = %s AND s.owner_id = %s"
)


def _as_datetime(value: Any) -> datetime.datetime:
    """A timestamp column as an aware datetime (SQLite returns text, PostgreSQL a datetime)."""
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class PollTarget:
    """What a poll is answered with: the version (``probe``) and the versions an answer may start from."""

    probe: Probe
    held: bool
    """True for a watched study (see ``poll_target``)."""
    recent: tuple[str, ...] = ()
    """The study's last versions answered while it was watched, newest last."""

    def since(self, since: str | None) -> str | None:
        """The version to answer from: ``since``, or None (the whole dashboard) when a watched study's
        client is further behind than the recent versions, so that no answer is built for it alone."""
        if self.held and since not in self.recent:
            return None
        return since


def poll_target(study_id: int, owner_id: int, watcher: str) -> PollTarget:
    """The version a poll is answered with: the current one, or for a watched study a recent one.

    Every poll reads the study's version (one query, which also checks the owner). With few
    watchers it is the answer's version, so a change shows at the next poll. When more than
    BUSY_WATCHERS clients (``watcher``: a session key) polled the study in the last WATCHER_SECONDS
    (in this process), the version read first is answered for HOLD_SECONDS, and a client gets
    either the changes since one of the last RECENT_VERSIONS versions answered or, further behind,
    the whole dashboard. Watchers then converge on a few versions whose answers are built once and
    shared, whatever their number, and see a change at most HOLD_SECONDS later than they could.
    State is kept per study *and* creation time: a reused id (a rolled-back test database) never
    inherits another study's versions.
    """
    current = probe(study_id, owner_id)
    incarnation = (study_id, current.created)
    if _WATCHERS.count(incarnation, watcher) <= BUSY_WATCHERS:
        return PollTarget(current, held=False)
    with _HELD_LOCK:
        versions = _HELD.setdefault(incarnation, deque(maxlen=RECENT_VERSIONS))
        held = versions[-1] if versions else None
        if held is None or not current.version.covers(held.version) or current.at - held.at >= HOLD_SECONDS:
            versions.append(current)
            held = current
        recent = tuple(str(p.version) for p in versions)
    return PollTarget(held, held=True, recent=recent)


def answer_key(target: Probe, since: str | None) -> str:
    """Cache key of the answer from ``since`` to ``target``: it names its content, so it never goes stale."""
    seen = Version.parse(since)
    return f"hytnas:dashboard-answer:{target.study_id}:{target.created}:{seen or 'full'}:{target.version}"


def poll_interval(base: float = POLL_SECONDS) -> float:
    """Seconds a watcher should wait before its next poll: ``base``, stretched when the machine is overloaded.

    The 1-minute load average per processor above 1 multiplies the wait (up to MAX_POLL_SECONDS):
    fewer polls when the machine has more work than processors, without a client noticing more
    than a slower refresh.
    """
    per_processor = os.getloadavg()[0] / _PROCESSORS
    return float(min(MAX_POLL_SECONDS, max(base, round(base * per_processor * 2) / 2)))


class _WatcherCounter:
    """Distinct clients that polled each study in the last WATCHER_SECONDS, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, int], dict[str, float]] = {}

    def count(self, study: tuple[int, int], watcher: str) -> int:
        """Note a poll of ``study`` (id, creation time) by ``watcher``; returns its watchers now."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(study, {})
            seen[watcher] = now
            if len(seen) > BUSY_WATCHERS:  # prune only when it matters
                for name, last in list(seen.items()):
                    if now - last > WATCHER_SECONDS:
                        del seen[name]
            return len(seen)


_WATCHERS = _WatcherCounter()
_PROCESSORS = max(1, os.cpu_count() or 1)
_HELD: dict[tuple[int, int], deque[Probe]] = {}
_HELD_LOCK = threading.Lock()


def _microseconds(moment: Any) -> int:
    return int(moment.timestamp() * 1_000_000)


def dashboard_version(study: Study) -> Version:
    """The study's current version (read before any row, so a reader never misses a change)."""
    max_id = study.evaluations.aggregate(m=Max("id"))["m"] or 0
    return Version(int(study.version), int(max_id), int(study.updated_at.timestamp() * 1_000_000))


def _within(version: Version) -> Q:
    """Rows a client at ``version`` has seen: stamped no later, and no newer than its newest id.

    Answers are bounded by the version they carry, so the next poll (``since`` that version) sends
    exactly the rows stamped or created after it: none twice, none missed.
    """
    return Q(version__lte=version.counter, id__lte=version.max_id)


def dashboard(study: Study, until: Version | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-able data: status, progress and every figure.

    ``until`` (default: the study's current version) is the version the answer carries; rows written
    after it are left to the next poll.
    """
    version = until or dashboard_version(study)
    objectives = _objectives(study)
    iterations = _iterations(study)
    rows = _decoded(
        study.evaluations.exclude(status=Evaluation.Status.PENDING).filter(_within(version)).order_by("id"),
        ("id", "iteration_id", "status"),
        ("objectives", "stage_latency"),
    )
    index_of = {it["id"]: it["index"] for it in iterations}
    pareto = _pareto_data(rows, index_of, objectives, study.ref_point, MAX_POINTS)
    texts = _texts(study, pareto.ids.tolist(), thinned=pareto.thinned)
    stage = stage_latency_data([r[0] for r in rows], [r[4] for r in rows], pareto.front_ids.tolist())
    figures: dict[str, Any] = {
        "pareto": charts.pareto_figure(pareto, texts, _predicted(study, iterations, objectives))
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
        "failed": _failed(study, version),
        "n_failed": sum(1 for r in rows if r[2] == Evaluation.Status.FAILED),
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
    changed = list(
        study.evaluations.filter(Q(version__gt=seen.counter) | Q(id__gt=seen.max_id))
        .filter(_within(version))
        .exclude(status=Evaluation.Status.PENDING)
        .order_by("id")
        .values_list("id", "iteration_id", "status", "objectives", "stage_latency", "error")
    )
    iterations_changed = any(it["version"] > seen.counter for it in iterations)
    if not changed and not iterations_changed and version.counter == seen.counter:
        return answer  # a lifecycle change: status and progress only
    objectives = _objectives(study)
    index_of = {it["id"]: it["index"] for it in iterations}
    new_done = [r for r in changed if r[2] == Evaluation.Status.DONE]
    if len(objectives) > 3:  # parallel coordinates cannot be extended in place: send it thinned, whole
        pareto = _front_data(study, index_of, objectives)
        shown = _pareto_data(_rows_of(pareto), {}, objectives, study.ref_point, MAX_POINTS)
        answer["pareto"] = {"figure": charts.pareto_figure(shown, [""] * int(shown.ids.shape[0]))}
    else:
        pareto = _pareto_data(
            _front_rows(study, version, new_done), index_of, objectives, study.ref_point, 10**12
        )
    front_ids = pareto.front_ids.tolist()
    texts = dict(_architectures(study, sorted({*front_ids, *(r[0] for r in new_done)})))
    new_rows = np.searchsorted(pareto.ids, [r[0] for r in new_done]).astype(np.int64)
    if len(objectives) <= 3:
        n_done = int(answer["progress"]["n_done"])
        answer["pareto"] = {
            "points": charts.pareto_points(pareto, _texts_for(pareto, texts), new_rows) if new_done else None,
            "overlays": charts.pareto_overlays(
                pareto, [texts.get(i, "") for i in front_ids], _predicted(study, iterations, objectives)
            ),
            "title": charts.pareto_title(pareto, n_measured=n_done, sampled=n_done > MAX_POINTS),
        }
    front_stage = dict(study.evaluations.filter(id__in=front_ids).values_list("id", "stage_latency"))
    stage = stage_latency_data(list(front_stage), list(front_stage.values()), front_ids)
    new_stage = stage_latency_data([r[0] for r in new_done], [r[4] for r in new_done], [])
    answer["stage_shares"] = charts.rounded(new_stage.backbone_share)
    figures = _small_figures(study, iterations, objectives, stage)
    if not iterations_changed:  # the per-iteration curves are unchanged: only the front's latency may be
        figures = {"stage_latency": figures["stage_latency"]}
    answer["figures"] = figures
    answer["failed_new"] = [
        {"id": r[0], "iteration": index_of.get(r[1]), "error": r[5]}
        for r in changed
        if r[2] == Evaluation.Status.FAILED
    ]
    answer["evaluations_changed"] = bool(changed)
    answer["iterations_changed"] = iterations_changed
    return answer


def _front_rows(study: Study, version: Version, new_done: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of the current front and of ``new_done``, without reading every measurement each poll.

    The front over all points is the front of (an earlier front ∪ every point measured since), as
    measured objectives never change. The last front computed is cached per study with the version
    it was computed at; without it (another process, an expired cache) every measurement is read.
    """
    key = f"hytnas:dashboard-front:{study.pk}:{study.created_at.timestamp()}"
    cached = cache.get(key)
    done = study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id")
    columns = ("id", "iteration_id", "status")
    if (
        isinstance(cached, dict)
        and cached["counter"] <= version.counter
        and cached["max_id"] <= version.max_id
    ):
        since = Q(version__gt=cached["counter"]) | Q(id__gt=cached["max_id"])
        rows = [*cached["rows"], *_decoded(done.filter(since), columns, ("objectives",))]
    else:
        rows = _decoded(done, columns, ("objectives",))
    merged = sorted({r[0]: r[:4] for r in [*rows, *new_done]}.values(), key=lambda r: r[0])
    objectives = _objectives(study)
    data = _pareto_data(merged, {}, objectives, None, max(len(merged), 1))
    front = set(data.front_ids.tolist())
    front_rows = [r for r in merged if r[0] in front]
    cache.set(
        key, {"counter": version.counter, "max_id": version.max_id, "rows": front_rows}, FRONT_CACHE_SECONDS
    )
    return merged


def _rows_of(pareto: ParetoChartData) -> list[tuple[Any, ...]]:
    """``(id, iteration, status, objectives)`` rows back from chart data (iteration already an index)."""
    return [
        (int(i), None, Evaluation.Status.DONE, y)
        for i, y in zip(pareto.ids.tolist(), pareto.Y.tolist(), strict=True)
    ]


def _texts_for(pareto: ParetoChartData, texts: dict[int, str]) -> list[str]:
    """Texts indexed like the shown rows (only the rows a caller asks for need a real text)."""
    return [texts.get(i, "") for i in pareto.ids.tolist()]


def _objectives(study: Study) -> list[Objective]:
    return [Objective.from_dict(o) for o in study.objectives]


def _iterations(study: Study) -> list[dict[str, Any]]:
    return list(
        study.iterations.order_by("index").values(
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
    )


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
    remaining = max(0, int(progress["n_iterations_planned"]) - len(done))
    running = study.status == Study.Status.RUNNING
    progress.update(
        last_activity=progress["last_activity"].isoformat(),
        n_iterations_done=len(done),
        seconds_per_iteration=per_iteration,
        eta_seconds=eta_seconds(per_iteration, remaining) if running else None,
    )
    progress.update(
        seconds_per_iteration_text=duration_text(progress["seconds_per_iteration"]),
        eta_text=duration_text(progress["eta_seconds"]),
    )
    return {
        "status": study.status,
        "status_label": study.get_status_display(),
        "active": study.status in (Study.Status.DRAFT, Study.Status.RUNNING, Study.Status.PAUSED),
        "progress": progress,
    }


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


def _pareto_data(
    rows: Sequence[tuple[Any, ...]],
    index_of: dict[int, int],
    objectives: list[Objective],
    ref_point: Any,
    max_points: int,
) -> ParetoChartData:
    """Chart data from ``(id, iteration_id, status, objectives, ...)`` rows; failures become NaN rows."""
    m = len(objectives)
    nan = [math.nan] * m
    Y = np.array(
        [
            r[3] if r[2] == Evaluation.Status.DONE and r[3] is not None and len(r[3]) == m else nan
            for r in rows
        ],
        dtype=np.float64,
    ).reshape(len(rows), m)
    iterations = [index_of.get(r[1], -1) if r[1] is not None else -1 for r in rows]
    ref = [float(v) for v in ref_point] if isinstance(ref_point, list) and len(ref_point) == m else None
    return pareto_chart_data([r[0] for r in rows], iterations, Y, objectives, ref, max_points=max_points)


def _front_data(study: Study, index_of: dict[int, int], objectives: list[Objective]) -> ParetoChartData:
    """Every measured point, unthinned: the front over all of them and rows to extend the chart with."""
    rows = _decoded(
        study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id"),
        ("id", "iteration_id", "status"),
        ("objectives",),
    )
    return _pareto_data(rows, index_of, objectives, study.ref_point, max(len(rows), 1))


def _texts(study: Study, ids: list[int], thinned: bool) -> list[str]:
    """Compact architecture of each id, in the order of ``ids``."""
    if not ids:
        return []
    if thinned:
        texts = dict(_architectures(study, ids))
    else:
        rows = _decoded(
            study.evaluations.exclude(status=Evaluation.Status.PENDING), ("id",), ("architecture",)
        )
        texts = dict(zip([r[0] for r in rows], compact_architectures([r[1] for r in rows]), strict=True))
    return [texts.get(i, "") for i in ids]


def _architectures(study: Study, ids: Sequence[int]) -> list[tuple[int, str]]:
    """``(id, compact architecture)`` of the given evaluations, in chunks the database accepts."""
    out: list[tuple[int, str]] = []
    for start in range(0, len(ids), _SQL_CHUNK):
        chunk = ids[start : start + _SQL_CHUNK]
        rows = _decoded(study.evaluations.filter(id__in=chunk), ("id",), ("architecture",))
        out.extend(zip([r[0] for r in rows], compact_architectures([r[1] for r in rows]), strict=True))
    return out


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


def _predicted(
    study: Study, iterations: list[dict[str, Any]], objectives: list[Objective]
) -> tuple[list[int], np.ndarray] | None:
    """Predicted objective values of the latest proposed batch, or None (initial design, rank scores)."""
    latest = next((it for it in reversed(iterations) if it["index"] > 0), None)
    if latest is None or (latest["diagnostics"] or {}).get("predicts_values") is False:
        return None
    m = len(objectives)
    rows = [
        (i, mean)
        for i, mean in study.evaluations.filter(iteration_id=latest["id"])
        .exclude(predicted_mean=None)
        .order_by("id")
        .values_list("id", "predicted_mean")
        if isinstance(mean, list) and len(mean) == m
    ]
    if not rows:
        return None
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.float64).reshape(len(rows), m)


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


def _failed(study: Study, version: Version) -> list[dict[str, Any]]:
    """The newest failed evaluations a client at ``version`` has seen: id, proposing iteration, why."""
    rows = (
        study.evaluations.filter(_within(version), status=Evaluation.Status.FAILED)
        .order_by("-id")
        .values_list("id", "iteration__index", "error")[:FAILED_LISTED]
    )
    return [{"id": i, "iteration": index, "error": error} for i, index, error in rows]
