"""Comparing studies (hypervolume, fronts, configurations) and two architectures side by side.

Each study's stored hypervolume uses its own reference point, so those numbers cannot be overlaid.
Here every study's curve is recomputed from its stored measured values at one reference point,
the component-wise worst of the studies' reference points (in minimisation form), so a larger
curve means a better front for every study alike. The recomputation is incremental: each
iteration adds its rows to a running non-dominated set and ``metrics.hypervolume`` measures it.
Studies that do not measure the same objectives (name, direction, unit) cannot be overlaid.

Two architectures (of one study or of two) are compared value by value: objectives, design
variables and, for HyT-NAS networks, the stage-by-stage view (``search_engine.spaces.hytnas_stages``),
each value marked where the architectures differ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Max

from hytnas_web.studies import charts
from hytnas_web.studies.models import ComponentKind, Evaluation, Iteration, Study
from hytnas_web.studies.services.browse import in_space_order, study_objectives
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.feasibility import rows_feasibility
from hytnas_web.studies.services.stages import network_view
from search_engine.metrics.charts import HypervolumeSeries
from search_engine.metrics.charts import hypervolume_series as curve
from search_engine.metrics.hypervolume import hypervolume
from search_engine.metrics.pareto import pareto_front, pareto_mask
from search_engine.objectives import Objective, derive_reference_point, from_minimisation, to_minimisation
from search_engine.spaces.hytnas_stages import COLUMNS, LABELS, StageColumn, StageView

CONFIG_FIELDS = (
    "space",
    "evaluator",
    "objectives",
    "ref_point",
    "auto",
    *(kind.value for kind in ComponentKind),
    "n_init",
    "batch_size",
    "budget",
    "seed",
    "patience",
)
"""Top-level configuration fields compared between studies, in the order the table lists them."""

ABSENT = "—"
"""A field one study sets and another does not (a component parameter left at its default)."""

MAX_CELL = 160
"""Longest text shown for one value (an uploaded table's contents would otherwise fill the page)."""


@dataclass
class Comparison:
    """Everything the compare page shows."""

    studies: list[Study]
    comparable: bool
    reason: str = ""
    objectives: list[Objective] = field(default_factory=list)
    ref_point: list[float] | None = None
    ref_rule: str = ""
    series: list[HypervolumeSeries] = field(default_factory=list)
    fronts: list[np.ndarray] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    hypervolume_figure: dict[str, Any] | None = None
    front_figure: dict[str, Any] | None = None
    front_note: str = ""

    @property
    def summary(self) -> list[dict[str, Any]]:
        """Per study: iterations, evaluations, last hypervolume at the common reference, front size."""
        rows = []
        for i, study in enumerate(self.studies):
            series = self.series[i] if i < len(self.series) else curve([], [], [])
            front = self.fronts[i] if i < len(self.fronts) else np.empty((0, 0))
            rows.append(
                {
                    "study": study,
                    "iterations": len(series.iterations),
                    "n_evaluations": series.n_evaluations[-1] if series.n_evaluations else 0,
                    "hypervolume": series.hypervolume[-1] if series.hypervolume else None,
                    "front_size": int(front.shape[0]),
                }
            )
        return rows


def compare_studies(studies: Sequence[Study]) -> Comparison:
    """Compare ``studies`` (already checked to belong to the user), in the given order."""
    studies = list(studies)
    differences = config_differences(studies)
    signatures = [[(o.name, o.direction, o.unit) for o in study_objectives(s)] for s in studies]
    if any(signature != signatures[0] for signature in signatures):
        listed = "; ".join(f"{s.name}: {', '.join(o.label() for o in study_objectives(s))}" for s in studies)
        reason = (
            "These studies do not measure the same objectives, so their hypervolume curves and fronts "
            f"cannot be overlaid ({listed})."
        )
        return Comparison(studies, comparable=False, reason=reason, differences=differences)
    objectives = study_objectives(studies[0])
    measured = [_measured_rows(s, objectives) for s in studies]
    ref_min, rule = common_reference_point(studies, objectives, measured)
    comparison = Comparison(studies, comparable=True, objectives=objectives, differences=differences)
    comparison.fronts = [pareto_front(rows[np.all(np.isfinite(rows), axis=1)]) for _, rows, _ in measured]
    if ref_min is None or not any(front.shape[0] for front in comparison.fronts):
        comparison.reason = "Nothing has been measured in these studies yet, so there is no curve to draw."
        return comparison
    ref_point = [float(v) for v in from_minimisation(ref_min, objectives)]
    comparison.ref_point = ref_point
    comparison.ref_rule = rule
    comparison.series = [
        hypervolume_series(s, ids, rows, statuses, ref_min)
        for s, (ids, rows, statuses) in zip(studies, measured, strict=True)
    ]
    names = [s.name for s in studies]
    comparison.hypervolume_figure = charts.compare_hypervolume_figure(names, comparison.series, ref_point)
    fronts = [from_minimisation(f, objectives) if f.shape[0] else f for f in comparison.fronts]
    comparison.front_figure, comparison.front_note = charts.compare_front_figure(
        names, objectives, fronts, ref_point
    )
    return comparison


def common_reference_point(
    studies: Sequence[Study],
    objectives: Sequence[Objective],
    measured: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray | None, str]:
    """The comparison's reference point in minimisation form, and how it was chosen, in words.

    The component-wise worst (largest, in minimisation form) of the studies' reference points;
    studies with none yet are left out. When no study has one, it is derived from the pooled
    measured values with the engine's usual rule.
    """
    given = [
        to_minimisation(np.asarray(s.ref_point, dtype=np.float64), objectives)
        for s in studies
        if isinstance(s.ref_point, list) and len(s.ref_point) == len(objectives)
    ]
    if given:
        rule = (
            "for each objective, the worst of the reference points of these studies"
            if len(given) > 1
            else "the reference point of the only study that has one"
        )
        return np.max(np.vstack(given), axis=0), rule
    pooled = np.vstack([rows for _, rows, _ in measured]) if measured else np.empty((0, len(objectives)))
    try:
        derived = derive_reference_point(pooled)
    except ValueError:
        return None, ""
    return derived.as_array(), f"derived from every measured value of these studies: {derived.rule}"


def _measured_rows(
    study: Study, objectives: Sequence[Objective]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids (n,), Y (n, m) in minimisation form with NaN rows for failures, finished (n,) bool)``.

    A row breaking one of the study's device budgets is a NaN row too: fronts and hypervolumes
    compared are the feasible ones.
    """
    m = len(objectives)
    query = study.evaluations.order_by("id").values_list("id", "status", "objectives", named=True)
    rows = list(query)
    ids = np.array([r.id for r in rows], dtype=np.int64)
    finished = np.array([r.status != Evaluation.Status.PENDING for r in rows], dtype=bool)
    nan_row = [float("nan")] * m
    Y = np.array(
        [
            r.objectives if r.status == Evaluation.Status.DONE and _is_row(r.objectives, m) else nan_row
            for r in rows
        ],
        dtype=np.float64,
    ).reshape(len(rows), m)
    check = rows_feasibility(study, study_config(study), ids.tolist())
    if check is not None:
        Y[~check.feasible] = np.nan
    return ids, to_minimisation(Y, objectives), finished


def _is_row(values: Any, m: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == m
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    )


def hypervolume_series(
    study: Study, ids: np.ndarray, Y: np.ndarray, finished: np.ndarray, ref_min: np.ndarray
) -> HypervolumeSeries:
    """Hypervolume after each finished iteration, counting every row created up to its last one.

    Rows are taken in id (creation) order, which is proposal order; an iteration covers every row
    up to its own last one (imported rows created earlier included). A running non-dominated set
    keeps each step small.
    """
    iterations: list[int] = []
    n_evaluations: list[int] = []
    values: list[float] = []
    last_ids = dict(
        study.evaluations.exclude(iteration=None).values_list("iteration__index").annotate(last=Max("id"))
    )
    done = (
        study.iterations.filter(status=Iteration.Status.DONE)
        .order_by("index")
        .values_list("index", flat=True)
    )
    front = np.empty((0, ref_min.shape[0]))
    taken = 0
    for index in done:
        cutoff = last_ids.get(index)
        if cutoff is None:
            continue
        upto = int(np.searchsorted(ids, cutoff, side="right"))
        if upto > taken:
            new = Y[taken:upto][np.all(np.isfinite(Y[taken:upto]), axis=1)]  # (k, m)
            candidates = np.vstack([front, new])
            front = candidates[pareto_mask(candidates)] if candidates.shape[0] else candidates
            taken = upto
        iterations.append(int(index))
        n_evaluations.append(int(np.count_nonzero(finished[:taken])))
        values.append(hypervolume(front, ref_min))
    return curve(iterations, n_evaluations, values)


# --- configuration differences ---


def config_differences(studies: Sequence[Study]) -> list[dict[str, Any]]:
    """The configuration fields whose values are not all equal: ``[{"field", "values": [...]}]``.

    Fields are dotted paths (``surrogate.params.max_depth``); a parameter one study leaves at its
    default shows as ``—``. Components, sizes, space, evaluator, objectives and reference point
    are compared.
    """
    flat = [_flat_config(s) for s in studies]
    paths: list[str] = []
    for top in CONFIG_FIELDS:
        for config in flat:
            for path in config:
                if (path == top or path.startswith(top + ".")) and path not in paths:
                    paths.append(path)
    rows = []
    for path in paths:
        values = [config.get(path, ABSENT) for config in flat]
        if len(set(values)) > 1:
            rows.append({"field": path, "values": [_short(v) for v in values]})
    return rows


def _flat_config(study: Study) -> dict[str, str]:
    components = study.components
    ref = None
    if isinstance(study.ref_point, list):
        ref = _numbers([float(v) for v in study.ref_point]) + (
            " (derived)" if study.ref_point_derived else ""
        )
    data: dict[str, Any] = {
        "space": study.space,
        "evaluator": study.evaluator,
        "objectives": ", ".join(
            f"{o.label()} {'↑' if o.direction == 'max' else '↓'}" for o in study_objectives(study)
        ),
        "ref_point": ref or "derived from the initial design",
        "auto": "chooses its components at every proposal" if study.config.get("auto") else "off",
        **components,
        "n_init": study.n_init,
        "batch_size": study.batch_size,
        "budget": study.budget,
        "seed": study.seed,
        "patience": study.patience,
    }
    flat: dict[str, str] = {}
    _flatten("", data, flat)
    return flat


def _numbers(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        text = "defaults"
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text


def _short(text: str) -> str:
    """Values are compared in full and shown cut to ``MAX_CELL`` characters."""
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


# --- two architectures side by side ---


@dataclass(frozen=True)
class SideBySide:
    """One compared quantity: its name, its value in each architecture, and whether they differ."""

    label: str
    values: tuple[Any, ...]
    note: str = ""

    @property
    def differs(self) -> bool:
        return len({_comparable(v) for v in self.values}) > 1


@dataclass(frozen=True)
class StageSideBySide:
    """One row of the per-stage table of each architecture: its label and kind, and cells per column."""

    part: str
    label: str
    subtotal: bool
    kinds: tuple[str, ...]
    cells: tuple[SideBySide, ...]  # one per ``ArchitectureComparison.stage_columns``


@dataclass
class ArchitectureComparison:
    """Two (or more) architectures side by side: objectives, design variables and the network per stage.

    ``objectives`` and ``variables`` hold one row per name that any of them has (a missing value is
    None); ``stages`` is empty unless every architecture reads as a HyT-NAS network.
    """

    evaluations: list[Evaluation]
    objectives: list[SideBySide]
    variables: list[SideBySide]
    stage_columns: tuple[StageColumn, ...] = ()
    stages: list[StageSideBySide] = field(default_factory=list)

    @property
    def n_differences(self) -> int:
        """How many variables differ: the measure of how far apart the two designs are."""
        return sum(row.differs for row in self.variables)

    @property
    def stage_table(self) -> list[tuple[StageSideBySide, list[tuple[Evaluation, str, list[StageCell]]]]]:
        """Per stage, one line per architecture: its kind and ``(column, value, differs)`` cells."""
        return [
            (
                row,
                [
                    (
                        evaluation,
                        row.kinds[i],
                        [
                            (c, cell.values[i], cell.differs)
                            for c, cell in zip(self.stage_columns, row.cells, strict=True)
                        ],
                    )
                    for i, evaluation in enumerate(self.evaluations)
                ],
            )
            for row in self.stages
        ]


StageCell = tuple[StageColumn, Any, bool]
"""One cell of an architecture's per-stage table: its column, its value, whether the other differs."""


def compare_architectures(evaluations: Sequence[Evaluation]) -> ArchitectureComparison:
    """``evaluations`` (already checked to be the user's, studies loaded) side by side, in that order."""
    chosen = list(evaluations)
    objectives = _objective_rows(chosen)
    variables = _variable_rows(chosen)
    views = [network_view(e.study, e.architecture, e.stage_latency) for e in chosen]
    comparison = ArchitectureComparison(chosen, objectives, variables)
    if all(view is not None for view in views):
        present = [view for view in views if view is not None]
        comparison.stage_columns = tuple(c for c in COLUMNS if any(c in view.columns for view in present))
        comparison.stages = _stage_rows(present, comparison.stage_columns)
    return comparison


def _objective_rows(chosen: Sequence[Evaluation]) -> list[SideBySide]:
    """Each objective any architecture's study measures, by label (``accuracy (%)``), with its arrow."""
    labels: list[str] = []
    values: list[dict[str, float | None]] = []
    for evaluation in chosen:
        measured = evaluation.objectives if evaluation.status == Evaluation.Status.DONE else None
        mine: dict[str, float | None] = {}
        for i, objective in enumerate(study_objectives(evaluation.study)):
            label = f"{objective.label()} {'↑' if objective.direction == 'max' else '↓'}"
            if label not in labels:
                labels.append(label)
            number = measured[i] if isinstance(measured, list) and i < len(measured) else None
            mine[label] = float(number) if isinstance(number, int | float) else None
        values.append(mine)
    return [SideBySide(label, tuple(v.get(label) for v in values)) for label in labels]


def _variable_rows(chosen: Sequence[Evaluation]) -> list[SideBySide]:
    """Each design variable any of them has, in the first one's space order."""
    names: list[str] = []
    for evaluation in chosen:
        architecture = evaluation.architecture if isinstance(evaluation.architecture, dict) else {}
        names += [name for name, _ in in_space_order(evaluation.study, architecture) if name not in names]
    rows = []
    for name in names:
        values = tuple(e.architecture.get(name) if isinstance(e.architecture, dict) else None for e in chosen)
        rows.append(SideBySide(name, values))
    return rows


def _stage_rows(views: Sequence[StageView], columns: Sequence[StageColumn]) -> list[StageSideBySide]:
    """The union of the views' rows (a classification network has no neck), in network order."""
    parts = [part for part in LABELS if any(row.part == part for view in views for row in view.rows)]
    rows = []
    for part in parts:
        found = [next((row for row in view.rows if row.part == part), None) for view in views]
        first = next(row for row in found if row is not None)
        cells = tuple(
            SideBySide(c.label, tuple(row.values.get(c.key) if row else None for row in found))
            for c in columns
        )
        kinds = tuple((row.kind + (f" ({row.note})" if row.note else "")) if row else "" for row in found)
        rows.append(StageSideBySide(part, first.label, first.subtotal, kinds, cells))
    return rows


def _comparable(value: Any) -> Any:
    """Numbers equal as numbers (2 and 2.0) are the same value; anything else compares as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return repr(value)
