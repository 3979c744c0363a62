"""Chart data for a study's dashboard: Pareto points and front, hypervolume, stage latency, fidelity, timing.

Numbers first, drawing second: these functions turn stored measurements into small frozen records
that a web layer converts to figures, so every number a chart shows is tested here without a
browser. Objective values stay in each objective's own units and direction (accuracy in %,
latency in ms); the front is computed in the engine's minimisation form (see ``objectives.py``).
Failed evaluations are rows of NaN: they are never plotted as points, only listed apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from search_engine.finite_numbers import finite_or_none
from search_engine.metrics.hypervolume import log_hypervolume_difference
from search_engine.metrics.pareto import feasible_pareto_mask
from search_engine.objectives import Objective, to_minimisation
from search_engine.types import PHASES, STAGES, Array

IntArray = npt.NDArray[np.int64]

DEFAULT_MAX_POINTS = 10_000
"""Points a Pareto chart shows at most (the front is always shown in full, even beyond this)."""

NEAR_FRONT_SHARE = 0.5
"""Of the points kept besides the front, the share chosen by closeness to the front; the rest by stride."""


@dataclass(frozen=True, eq=False)
class ParetoChartData:
    """Measured points of a study and its current Pareto front.

    Attributes:
        objectives: the study's objectives (name, direction, unit).
        ids: ``(n_shown,)`` evaluation ids of the successful points shown.
        iterations: ``(n_shown,)`` index of the iteration that proposed each point.
        Y: ``(n_shown, n_objectives)`` measured values in the objectives' own units.
        front: indices into the shown rows of the non-dominated points, sorted by the first
            objective (then the next ones), so joining them draws the front.
        failed_ids: ids of failed evaluations (no finite values), listed apart from the chart.
        n_measured: successful points before thinning; larger than ``len(ids)`` when thinned.
        ref_point: hypervolume reference point in the objectives' own units, or None.
        infeasible: indices into the shown rows of points that break a constraint (never on the
            front); empty for a study without constraints.
    """

    objectives: tuple[Objective, ...]
    ids: IntArray
    iterations: IntArray
    Y: Array
    front: IntArray
    failed_ids: IntArray
    n_measured: int
    ref_point: tuple[float, ...] | None
    infeasible: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def thinned(self) -> bool:
        """True when some points far from the front were left out to keep the chart light."""
        return self.n_measured > int(self.ids.shape[0])

    @property
    def front_ids(self) -> IntArray:
        """Evaluation ids of the front, in drawing order."""
        return self.ids[self.front]


def pareto_chart_data(
    ids: Sequence[int] | IntArray,
    iterations: Sequence[int] | IntArray,
    Y: Array,
    objectives: Sequence[Objective],
    ref_point: Sequence[float] | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    feasible: npt.NDArray[np.bool_] | None = None,
) -> ParetoChartData:
    """Points, front and failures of a study, thinned to ``max_points`` far from the front.

    Args:
        ids: ``(n,)`` evaluation ids.
        iterations: ``(n,)`` proposing iteration of each evaluation.
        Y: ``(n, n_objectives)`` measured values in own units; a row with a non-finite value is
            a failed evaluation.
        objectives: the study's objectives, which say each one's direction.
        ref_point: reference point in own units, drawn on the chart; None when not known yet.
        max_points: cap on shown points; the front is kept whole even when it alone exceeds it.
        feasible: ``(n,)`` True for evaluations meeting every constraint (None: no constraints);
            the front is the feasible points' (see ``constraints.feasible_rows``).
    """
    id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
    iteration_array = np.asarray(iterations, dtype=np.int64).reshape(-1)
    m = len(objectives)
    values = np.asarray(Y, dtype=np.float64).reshape(-1, m)  # (n, m)
    if not (id_array.shape[0] == iteration_array.shape[0] == values.shape[0]):
        raise ValueError("ids, iterations and Y must have one entry per evaluation")
    finite = np.all(np.isfinite(values), axis=1)  # (n,)
    good = np.flatnonzero(finite)
    Y_min = to_minimisation(values[good], objectives)  # (n_good, m)
    ok = None if feasible is None else np.asarray(feasible, dtype=np.bool_).reshape(-1)[good]
    mask = feasible_pareto_mask(Y_min, ok) if good.shape[0] else np.zeros(0, dtype=np.bool_)
    keep = thin_indices(Y_min, mask, max_points)  # indices into good
    shown = good[keep]
    front = np.flatnonzero(mask[keep])
    front = front[np.lexsort(values[shown][front].T[::-1])] if front.shape[0] else front
    return ParetoChartData(
        objectives=tuple(objectives),
        ids=id_array[shown],
        iterations=iteration_array[shown],
        Y=values[shown],
        front=front.astype(np.int64),
        failed_ids=id_array[~finite],
        n_measured=int(good.shape[0]),
        ref_point=None if ref_point is None else tuple(float(v) for v in ref_point),
        infeasible=np.zeros(0, dtype=np.int64) if ok is None else np.flatnonzero(~ok[keep]).astype(np.int64),
    )


def thin_indices(Y_min: Array, front_mask: npt.NDArray[np.bool_], max_points: int) -> IntArray:
    """Sorted indices of the points to show: the whole front, then near-front points, then a stride.

    Deterministic and never drops a front point. Of the ``max_points - n_front`` other places,
    ``NEAR_FRONT_SHARE`` go to the points closest to the front (Euclidean distance in objectives
    scaled by their range, ties by index), the rest to an even stride over what remains, so the
    shape of the dominated cloud stays visible.

    Args:
        Y_min: ``(n, m)`` finite values in minimisation form.
        front_mask: ``(n,)`` True for non-dominated points.
        max_points: cap on kept points (the front alone may exceed it).
    """
    n = int(Y_min.shape[0])
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    front = np.flatnonzero(front_mask)
    if front.shape[0] == 0:  # nothing feasible yet, so no front: an even stride over every point
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    budget = max(0, max_points - front.shape[0])
    rest = np.flatnonzero(~front_mask)
    if budget == 0 or rest.shape[0] == 0:
        return front.astype(np.int64)
    scale = np.ptp(Y_min, axis=0)  # (m,)
    scale[scale <= 0.0] = 1.0
    distance, _ = cKDTree(Y_min[front] / scale).query(Y_min[rest] / scale)  # (n_rest,)
    n_near = min(int(budget * NEAR_FRONT_SHARE), rest.shape[0])
    by_distance = np.lexsort((rest, distance))  # positions in rest, nearest first
    near = rest[by_distance[:n_near]]
    far = np.sort(rest[by_distance[n_near:]])
    n_far = min(budget - n_near, far.shape[0])
    if n_far > 0:
        stride = np.unique(np.linspace(0, far.shape[0] - 1, n_far).round().astype(np.int64))
        far = far[stride]
    else:
        far = far[:0]
    return np.sort(np.concatenate([front, near, far])).astype(np.int64)


_STAGE_NAME = re.compile(r"^(?P<group>.+)_stage(?P<stage>\d+)$")

_Plan = list[tuple[str, tuple[str, ...]]]


def compact_architecture(architecture: Mapping[str, Any] | None, max_items: int = 12) -> str:
    """A decoded architecture in one short line, for hover text.

    Per-stage variables (``blocks_stage2`` .. ``blocks_stage5``) are grouped as ``blocks 1/2/3/4``;
    other variables read ``name=value``. Numbers keep four significant digits; more than
    ``max_items`` groups end in an ellipsis.
    """
    return compact_architectures([architecture], max_items)[0]


def compact_architectures(
    architectures: Sequence[Mapping[str, Any] | None], max_items: int = 12
) -> list[str]:
    """``compact_architecture`` of many architectures at once, fast for a study's thousands.

    Architectures of one space share their variable names, so the grouping is planned once per set
    of names, and each distinct value is formatted once.
    """
    plans: dict[tuple[str, ...], tuple[_Plan, bool]] = {}
    texts: dict[tuple[type, Any], str] = {}
    out: list[str] = []
    for architecture in architectures:
        if not architecture:
            out.append("")
            continue
        names = tuple(architecture)
        if names not in plans:
            plans[names] = _plan(names, max_items)
        plan, more = plans[names]
        parts = []
        for label, keys in plan:
            values = []
            for key in keys:
                value = architecture[key]
                try:
                    text = texts[(type(value), value)]
                except KeyError:
                    text = texts[(type(value), value)] = _short(value)
                except TypeError:  # unhashable (a list): format it every time
                    text = _short(value)
                values.append(text)
            parts.append(label + "/".join(values))
        out.append(", ".join(parts) + (" …" if more else ""))
    return out


def _plan(names: tuple[str, ...], max_items: int) -> tuple[_Plan, bool]:
    """Groups of variable names with their labels (``"blocks "`` or ``"lr="``), and whether some are cut."""
    groups: dict[str, list[str]] = {}
    for name in names:
        match = _STAGE_NAME.match(name)
        if match:
            groups.setdefault(match.group("group") + " ", []).append(name)
        else:
            groups[f"{name}="] = [name]
    plan = [(label, tuple(keys)) for label, keys in groups.items()]
    return plan[:max_items], len(plan) > max_items


def _short(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


@dataclass(frozen=True)
class HypervolumeSeries:
    """Hypervolume after each finished iteration, against evaluations and iterations.

    Attributes:
        iterations: iteration indices with a recorded hypervolume, ascending.
        n_evaluations: evaluations in the study after each of them.
        hypervolume: the stored hypervolume after each of them.
        log_difference: ``log10(true_hv - hv)`` per iteration when the true front is known, else None.
        true_hypervolume: hypervolume of the known true front, or None.
        ref_point: reference point (own units) the hypervolumes are measured against, or None.
    """

    iterations: tuple[int, ...]
    n_evaluations: tuple[int, ...]
    hypervolume: tuple[float, ...]
    log_difference: tuple[float, ...] | None
    true_hypervolume: float | None
    ref_point: tuple[float, ...] | None


def hypervolume_series(
    iterations: Sequence[int],
    n_evaluations: Sequence[int],
    hypervolumes: Sequence[float | None],
    true_hypervolume: float | None = None,
    ref_point: Sequence[float] | None = None,
) -> HypervolumeSeries:
    """The convergence curve from stored per-iteration hypervolumes (never recomputed here).

    Iterations without a finite hypervolume (still running, no success yet) are left out.
    """
    rows = sorted(
        (int(i), int(n), float(hv))
        for i, n, hv in zip(iterations, n_evaluations, hypervolumes, strict=True)
        if hv is not None and math.isfinite(hv)
    )
    hv_values = tuple(r[2] for r in rows)
    true_hv = None if true_hypervolume is None or not math.isfinite(true_hypervolume) else true_hypervolume
    log_difference = (
        None if true_hv is None else tuple(log_hypervolume_difference(hv, true_hv) for hv in hv_values)
    )
    return HypervolumeSeries(
        iterations=tuple(r[0] for r in rows),
        n_evaluations=tuple(r[1] for r in rows),
        hypervolume=hv_values,
        log_difference=log_difference,
        true_hypervolume=None if true_hv is None else float(true_hv),
        ref_point=None if ref_point is None else tuple(float(v) for v in ref_point),
    )


@dataclass(frozen=True)
class StageLatencyData:
    """Per-stage latency (ms) of the front's architectures and the backbone's share over all.

    Attributes:
        front_ids: ids of front architectures with stage latency, sorted by total latency.
        stages: stage names present, in network order (a subset of ``STAGES``).
        latency: per front architecture, one value per stage in ``stages`` (0 for a missing stage).
        totals: total latency of each front architecture (sum over ``stages``).
        share_ids: ids of every architecture with a positive total stage latency.
        backbone_share: the backbone's fraction of the total, one per ``share_ids`` entry.
    """

    front_ids: tuple[int, ...]
    stages: tuple[str, ...]
    latency: tuple[tuple[float, ...], ...]
    totals: tuple[float, ...]
    share_ids: tuple[int, ...]
    backbone_share: tuple[float, ...]

    @property
    def available(self) -> bool:
        """False when the evaluator reported no per-stage latency at all."""
        return bool(self.share_ids) or bool(self.front_ids)


def stage_latency_data(
    ids: Sequence[int],
    stage_latency: Sequence[Mapping[str, Any] | None],
    front_ids: Sequence[int],
) -> StageLatencyData:
    """Stacked-bar and share-histogram numbers from each evaluation's reported stage latency.

    Args:
        ids: evaluation ids.
        stage_latency: per evaluation, ``{"backbone": ms, "neck": ms, "head": ms}`` or None.
        front_ids: ids of the current Pareto front.
    """
    reported = _reported_stages(ids, stage_latency)
    stages = tuple(s for s in STAGES if any(s in sl for sl in reported.values()))
    front = [int(i) for i in front_ids if int(i) in reported]
    rows = [(i, tuple(reported[i].get(s, 0.0) for s in stages)) for i in front]
    rows.sort(key=lambda row: (sum(row[1]), row[0]))
    share_ids, shares = _backbone_shares(reported)
    return StageLatencyData(
        front_ids=tuple(r[0] for r in rows),
        stages=stages,
        latency=tuple(r[1] for r in rows),
        totals=tuple(sum(r[1]) for r in rows),
        share_ids=tuple(share_ids),
        backbone_share=tuple(shares),
    )


def _reported_stages(
    ids: Sequence[int], stage_latency: Sequence[Mapping[str, Any] | None]
) -> dict[int, dict[str, float]]:
    """Per evaluation id, its finite latencies of known stages; evaluations with none are left out."""
    reported: dict[int, dict[str, float]] = {}
    for i, latency in zip(ids, stage_latency, strict=True):
        finite = {
            s: float(v) for s, v in (latency or {}).items() if s in STAGES and finite_or_none(v) is not None
        }
        if finite:
            reported[int(i)] = finite
    return reported


def _backbone_shares(reported: Mapping[int, Mapping[str, float]]) -> tuple[list[int], list[float]]:
    """Ids and the backbone's share of their total latency, where a backbone time and a total exist."""
    share_ids: list[int] = []
    shares: list[float] = []
    for i, latency in reported.items():
        total = sum(latency.values())
        if total > 0.0 and STAGES[0] in latency:
            share_ids.append(i)
            shares.append(latency[STAGES[0]] / total)
    return share_ids, shares


@dataclass(frozen=True)
class FidelitySeries:
    """Per iteration and objective: how well the surrogate's predictions matched the measurements.

    Each metric maps an objective name to one value per iteration (None where undefined: too few
    pairs, a constant column, or errors of a rank-based surrogate).
    """

    iterations: tuple[int, ...]
    objectives: tuple[str, ...]
    kendall_tau: Mapping[str, tuple[float | None, ...]]
    spearman_rho: Mapping[str, tuple[float | None, ...]]
    rmse: Mapping[str, tuple[float | None, ...]]
    mae: Mapping[str, tuple[float | None, ...]]

    @property
    def available(self) -> bool:
        """False before any iteration has predictions to compare (the initial design has none)."""
        return bool(self.iterations)


FIDELITY_METRICS = ("kendall_tau", "spearman_rho", "rmse", "mae")


def fidelity_series(
    iterations: Sequence[int], records: Sequence[Sequence[Mapping[str, Any]]], objectives: Sequence[str]
) -> FidelitySeries:
    """Columns per objective from each iteration's stored fidelity records.

    Args:
        iterations: iteration indices.
        records: per iteration, a list of ``{"objective": name, "kendall_tau": ..., ...}``
            (``ObjectiveFidelity.to_dict()`` plus the name); iterations with none are left out.
        objectives: objective names, in the study's order.
    """
    kept = sorted((int(i), r) for i, r in zip(iterations, records, strict=True) if r)
    columns: dict[str, dict[str, list[float | None]]] = {
        metric: {name: [] for name in objectives} for metric in FIDELITY_METRICS
    }
    for _, record in kept:
        by_name = {str(entry.get("objective")): entry for entry in record}
        for metric in FIDELITY_METRICS:
            for name in objectives:
                value = by_name.get(name, {}).get(metric)
                columns[metric][name].append(finite_or_none(value))
    frozen = {metric: {n: tuple(v) for n, v in cols.items()} for metric, cols in columns.items()}
    return FidelitySeries(
        iterations=tuple(i for i, _ in kept),
        objectives=tuple(objectives),
        kendall_tau=frozen["kendall_tau"],
        spearman_rho=frozen["spearman_rho"],
        rmse=frozen["rmse"],
        mae=frozen["mae"],
    )


@dataclass(frozen=True)
class TimingSeries:
    """Seconds per phase (fit, solve, select, evaluate) of each iteration, for stacked bars."""

    iterations: tuple[int, ...]
    seconds: Mapping[str, tuple[float, ...]]

    @property
    def totals(self) -> tuple[float, ...]:
        """Seconds of each iteration over all phases."""
        return tuple(sum(col[k] for col in self.seconds.values()) for k in range(len(self.iterations)))


def timing_series(iterations: Sequence[int], timings: Sequence[Mapping[str, Any] | None]) -> TimingSeries:
    """Phase seconds per iteration; a phase that did not run (the initial design fits nothing) is 0."""
    rows = sorted((int(i), t or {}) for i, t in zip(iterations, timings, strict=True))
    return TimingSeries(
        iterations=tuple(i for i, _ in rows),
        seconds={phase: tuple(_seconds(t.get(phase)) for _, t in rows) for phase in PHASES},
    )


def _seconds(value: Any) -> float:
    number = finite_or_none(value)
    return 0.0 if number is None else number


def seconds_per_iteration(durations: Sequence[float]) -> float | None:
    """Median wall time of finished iterations (robust to one slow start), or None with none."""
    finite = [d for d in durations if math.isfinite(d) and d >= 0.0]
    return float(np.median(finite)) if finite else None


def eta_seconds(per_iteration: float | None, n_remaining: int) -> float | None:
    """Time left at ``per_iteration`` seconds for ``n_remaining`` iterations, or None when unknown."""
    if per_iteration is None or n_remaining < 0:
        return None
    return per_iteration * n_remaining
