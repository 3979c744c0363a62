"""Browsing a study's evaluations: the sortable, filterable, paginated table and one architecture's page.

Everything is done by the database except the Pareto filter, which needs dominance: it reads only
``(id, objectives)`` of the measured rows and runs ``search_engine.metrics.pareto`` on them in
minimisation form, so it is exact, needs no cache and stays cheap for large studies. Objectives
are stored as a JSON list in their own units; sorting by one casts ``objectives -> i`` to a float
in SQL (works on SQLite and PostgreSQL), with unmeasured rows last in both directions.

Each design variable of the study's space is a column too (``variable_columns``). The decoded
architecture is stored as a JSON object, so a variable is ``architecture ->> name`` in SQL: cast to
a float for numeric variables (and choices that are all numbers), compared as text for text
choices, which sort in their declared order. A row without the variable sorts last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    F,
    FloatField,
    IntegerField,
    Max,
    OrderBy,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.devices import device_details, device_label, measures_on_device
from hytnas_web.studies.services.feasibility import BoundLabel, rows_feasibility
from hytnas_web.studies.services.stages import network_view
from search_engine.errors import ConfigError
from search_engine.finite_numbers import finite_or_none
from search_engine.metrics.pareto import feasible_pareto_mask
from search_engine.objectives import Objective, to_minimisation
from search_engine.types import STAGES

PARTS = (*STAGES, "classifier", "total")
"""Parts of a network whose size the torch evaluator counts (``params_<part>``, ``macs_<part>``)."""

MEASUREMENTS = (
    ("latency_ms", "End-to-end latency, median (ms)"),
    ("latency_p10_ms", "End-to-end latency, 10th percentile (ms)"),
    ("latency_p90_ms", "End-to-end latency, 90th percentile (ms)"),
    ("latency_classifier_ms", "Classifier latency, median (ms)"),
    ("latency_whole_graph_ms", "Whole network as one ONNX graph, median (ms)"),
    ("latency_runtime", "Latency measured in"),
    ("latency_runtime_settings", "Runtime settings"),
    ("latency_fallback", "Runtime fallback"),
    ("peak_rss_mb", "Peak memory of the measuring process (MB)"),
    ("peak_rss_increase_mb", "Peak memory added by this architecture (MB)"),
    ("accuracy_proxy", "Accuracy proxy (score)"),
    ("synflow", "SynFlow score (log10)"),
    ("val_accuracy", "Validation accuracy after the short training run (%; mean over its seeds)"),
    ("val_accuracy_std", "Validation accuracy, standard deviation over the training seeds (points)"),
    ("train_final_loss", "Training loss at the end of the run"),
    ("train_seconds", "Training time (s)"),
)
"""Metrics of a measurement the architecture page names in words, in this order."""

PAGE_SIZE = 50
"""Rows per page of the architectures table."""

SORT_COLUMNS = {"id": "id", "iteration": "iteration__index", "status": "status", "source": "source"}
"""Sort keys other than objectives, and the column each orders by."""

OBJECTIVE_SORT_PREFIX = "objective-"
"""``objective-<i>`` sorts by the i-th objective (0-based), ``-objective-<i>`` descending."""
VARIABLE_SORT_PREFIX = "variable-"
"""``variable-<i>`` sorts by the i-th design variable of the space (0-based), ``-variable-<i>`` descending."""


@dataclass(frozen=True)
class VariableColumn:
    """One design variable as a column of the table: sortable, filtered by a choice or a range."""

    index: int
    name: str
    choices: tuple[Any, ...] = ()
    """The variable's choices (a select filters it); empty for a numeric range (min / max)."""
    low: float | None = None
    high: float | None = None

    @property
    def numeric(self) -> bool:
        """True when its values are numbers, so SQL compares and sorts them as numbers."""
        return all(isinstance(c, int | float) and not isinstance(c, bool) for c in self.choices)

    @property
    def sort_key(self) -> str:
        return f"{VARIABLE_SORT_PREFIX}{self.index}"

    def choice(self, text: str) -> Any:
        """The choice whose text is ``text`` (a select's value), or None."""
        return next((c for c in self.choices if str(c) == text), None)

    def expression(self) -> Expression:
        """The variable's value in SQL: a float for numbers, else the stored text."""
        # A cast either way: a bare key transform would compare as JSON, not as text.
        value = KeyTextTransform(self.name, "architecture")
        return Cast(value, FloatField() if self.numeric else TextField())

    def order_expression(self) -> Expression:
        """What sorting orders by: numbers as numbers, text choices in their declared order."""
        if self.numeric:
            return self.expression()
        whens = [
            When(**{f"variable_{self.index}": str(c)}, then=Value(i)) for i, c in enumerate(self.choices)
        ]
        return Case(*whens, default=None, output_field=IntegerField())


@dataclass(frozen=True)
class VariableFilter:
    """Keep the rows whose variable equals a choice, or lies within ``[low, high]`` (either may be open)."""

    column: VariableColumn
    equals: Any = None
    low: float | None = None
    high: float | None = None

    def apply(self, queryset: QuerySet[Evaluation]) -> QuerySet[Evaluation]:
        alias = f"variable_{self.column.index}"
        queryset = queryset.alias(**{alias: self.column.expression()})
        if self.equals is not None:
            wanted = float(self.equals) if self.column.numeric else str(self.equals)
            queryset = queryset.filter(**{alias: wanted})
        if self.low is not None:
            queryset = queryset.filter(**{f"{alias}__gte": self.low})
        if self.high is not None:
            queryset = queryset.filter(**{f"{alias}__lte": self.high})
        return queryset


def variable_columns(study: Study) -> list[VariableColumn]:
    """The study's design variables as table columns; none when its space does not list variables."""
    try:
        space = study_config(study).build_space()
    except (ConfigError, KeyError, TypeError, ValueError):
        return []
    variables = getattr(space, "variables", None)
    if not isinstance(variables, list):
        return []
    columns = []
    for i, variable in enumerate(variables):
        if variable.type == "choice":
            columns.append(VariableColumn(i, variable.name, tuple(variable.choices)))
        else:
            columns.append(VariableColumn(i, variable.name, (), float(variable.low), float(variable.high)))
    return columns


def study_objectives(study: Study) -> list[Objective]:
    """The study's objectives as engine objects (name, direction, unit)."""
    return [Objective.from_dict(o) for o in study.objectives]


def sort_keys(study: Study, variables: list[VariableColumn] | None = None) -> list[str]:
    """Every ascending sort key the table accepts for ``study``; prefix ``-`` for descending."""
    columns = variable_columns(study) if variables is None else variables
    return [
        *SORT_COLUMNS,
        *(f"{OBJECTIVE_SORT_PREFIX}{i}" for i in range(len(study.objectives))),
        *(column.sort_key for column in columns),
    ]


def pareto_evaluation_ids(study: Study) -> set[int]:
    """Ids of the measured, non-dominated evaluations (duplicated points are all kept).

    Only rows with every objective finite take part; the front is computed in minimisation form,
    so maximised objectives (accuracy) count as larger-is-better. The database extracts each
    objective as a float, so no JSON is decoded in Python (100,000 rows in a fraction of a second).
    """
    n_obj = len(study.objectives)
    columns = {f"objective_{i}": _objective(i) for i in range(n_obj)}
    rows = list(
        study.evaluations.filter(status=Evaluation.Status.DONE)
        .exclude(objectives=None)
        .annotate(**columns)
        .values_list("id", *columns)
    )
    if not rows:
        return set()
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + n_obj)  # (n, 1 + m); NULL -> NaN
    finite = np.all(np.isfinite(table[:, 1:]), axis=1)  # (n,)
    if not finite.any():
        return set()
    kept = table[finite, 0].astype(np.int64)
    check = rows_feasibility(study, study_config(study), kept.tolist())  # device budgets: feasible rows only
    ok = None if check is None else check.feasible
    mask = feasible_pareto_mask(to_minimisation(table[finite, 1:], study_objectives(study)), ok)
    return {int(pk) for pk in kept[mask]}


def _objective(index: int) -> Cast:
    """The ``index``-th stored objective as a float (SQL NULL when missing)."""
    # KT extracts the list element as text (->> on both databases); the cast makes it numeric.
    return Cast(KT(f"objectives__{index}"), FloatField())


@dataclass
class EvaluationBrowse:
    """One page of the architectures table and the choices that produced it."""

    page: Page[Evaluation]
    sort: str
    pareto_only: bool
    iteration: int | None
    status: str
    source: str
    n_total: int = 0
    last_iteration: int | None = None
    show_device: bool = False
    bounds: tuple[BoundLabel, ...] = ()
    """The study's device budgets; each row of the page then has ``bound_check`` (see ``_check_page``)."""
    variables: tuple[VariableColumn, ...] = ()
    """The space's design variables; each row of the page then has ``variable_values`` in this order."""
    variable_filters: tuple[VariableFilter, ...] = ()

    @property
    def filtered(self) -> bool:
        """True when a filter hides some rows."""
        return bool(
            self.pareto_only
            or self.iteration is not None
            or self.status
            or self.source
            or self.variable_filters
        )


def browse_evaluations(
    study: Study,
    *,
    sort: str = "id",
    pareto_only: bool = False,
    iteration: int | None = None,
    status: str = "",
    source: str = "",
    variable_filters: tuple[VariableFilter, ...] = (),
    page: int | str = 1,
    page_size: int = PAGE_SIZE,
) -> EvaluationBrowse:
    """One page of ``study``'s evaluations, filtered and sorted on the server.

    Args:
        sort: a key of ``sort_keys(study)``, ``-`` prefixed for descending; unknown keys sort by id.
        pareto_only: keep only the measured non-dominated architectures.
        iteration: keep only those proposed by the iteration of this index.
        status, source: keep only this status / source ("" = any).
        variable_filters: keep only the rows whose design variables pass every one of these.
        page: 1-based page number; out-of-range or malformed numbers give the nearest valid page.
    """
    variables = variable_columns(study)
    queryset = study.evaluations.select_related("iteration")
    for variable_filter in variable_filters:
        queryset = variable_filter.apply(queryset)
    if iteration is not None:
        queryset = queryset.filter(iteration__index=iteration)
    if status:
        queryset = queryset.filter(status=status)
    if source:
        queryset = queryset.filter(source=source)
    if pareto_only:
        queryset = queryset.filter(id__in=sorted(pareto_evaluation_ids(study)))
    sort = sort if sort.lstrip("-") in sort_keys(study, variables) else "id"
    queryset = ordered(queryset, sort, variables)
    paginator = Paginator(queryset, page_size)
    shown = paginator.get_page(page)
    _with_variable_values(shown, variables)
    return EvaluationBrowse(
        page=shown,
        bounds=_check_page(study, shown),
        variables=tuple(variables),
        variable_filters=tuple(variable_filters),
        sort=sort,
        pareto_only=pareto_only,
        iteration=iteration,
        status=status,
        source=source,
        n_total=study.evaluations.count(),
        last_iteration=study.iterations.aggregate(last=Max("index"))["last"],
        show_device=measures_on_device(study),
    )


def _check_page(study: Study, page: Page[Evaluation]) -> tuple[BoundLabel, ...]:
    """Give each evaluation of ``page`` its ``bound_check`` against the study's bounds; the bounds.

    ``bound_check`` is ``{"feasible": bool or None (not measured), "violations": [amount or None]}``.
    """
    evaluations = list(page.object_list)
    check = rows_feasibility(study, study_config(study), [e.pk for e in evaluations])
    if check is None:
        return ()
    for i, evaluation in enumerate(evaluations):
        measured = evaluation.status == Evaluation.Status.DONE
        violations = [None if not measured or np.isnan(v) else float(v) for v in check.violation[i]]
        evaluation.bound_check = {  # type: ignore[attr-defined]
            "feasible": bool(check.feasible[i]) if measured else None,
            "violations": violations,
        }
    page.object_list = evaluations
    return check.bounds


def _with_variable_values(page: Page[Evaluation], variables: list[VariableColumn]) -> None:
    """Give each evaluation of ``page`` its ``variable_values``, in ``variables`` order (None: absent)."""
    evaluations = list(page.object_list)
    for evaluation in evaluations:
        architecture = evaluation.architecture if isinstance(evaluation.architecture, dict) else {}
        evaluation.variable_values = [architecture.get(c.name) for c in variables]  # type: ignore[attr-defined]
    page.object_list = evaluations


def ordered(
    queryset: QuerySet[Evaluation], sort: str, variables: list[VariableColumn] | None = None
) -> QuerySet[Evaluation]:
    """``queryset`` ordered by a sort key (see ``sort_keys``); ties and missing values by id, last."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key.startswith(OBJECTIVE_SORT_PREFIX):
        index = int(key.removeprefix(OBJECTIVE_SORT_PREFIX))
        queryset = queryset.annotate(sort_value=_objective(index))
        column = "sort_value"
    elif key.startswith(VARIABLE_SORT_PREFIX):
        variable = (variables or [])[int(key.removeprefix(VARIABLE_SORT_PREFIX))]
        alias = f"variable_{variable.index}"
        queryset = queryset.alias(**{alias: variable.expression()})
        queryset = queryset.annotate(sort_value=variable.order_expression())
        column = "sort_value"
    else:
        column = SORT_COLUMNS[key]
    expression = OrderBy(F(column), descending=descending, nulls_last=True)
    return queryset.order_by(expression, "-id" if descending else "id")


# --- one architecture ---


def architecture_detail(study: Study, evaluation: Evaluation) -> dict[str, Any]:
    """What the architecture page shows, in the objectives' own units.

    Returns a dict with ``variables`` (decoded configuration as (name, value) pairs), ``derived``
    (absolute channels per stage and FFN widths, HyT-NAS space only), ``objectives`` (per
    objective: label, measured, predicted mean / std, error and its size in std units), ``stages``
    (per-stage latency with shares of the total), ``network`` (the HyT-NAS network stage by stage, a
    ``hytnas_stages.StageView``; None for other spaces or an incomplete architecture), ``on_front``,
    ``predictions_are_scores`` (a ranking surrogate predicted scores, not values), ``device`` (every
    reported fact about the machine that measured it, as (label, text) pairs) with its one-line
    ``device_label``, ``show_device`` (the evaluator measures on a machine, so a missing device is
    worth saying), and from
    the evaluator's metrics: ``parts`` (parameters and multiply-adds per part of the network),
    ``measurements`` (latency spread, memory, accuracy proxy, as (label, value)) and
    ``other_metrics`` (anything else reported, by name); ``bounds``: per device budget its words
    and whether it is met (``met``: True, False, or None before measuring) and by how much not,
    ``breaks_a_bound`` when one is broken.
    """
    objectives = study_objectives(study)
    bounds = _bounds_of(study, evaluation)
    measured = evaluation.objectives if isinstance(evaluation.objectives, list) else None
    mean = evaluation.predicted_mean if isinstance(evaluation.predicted_mean, list) else None
    std = evaluation.predicted_std if isinstance(evaluation.predicted_std, list) else None
    diagnostics = evaluation.iteration.diagnostics if evaluation.iteration is not None else {}
    scores = isinstance(diagnostics, dict) and diagnostics.get("predicts_values") is False
    rows = []
    for i, objective in enumerate(objectives):
        value = _at(measured, i)
        predicted = None if scores else _at(mean, i)
        spread = None if scores else _at(std, i)
        error = value - predicted if value is not None and predicted is not None else None
        z = abs(error) / spread if error is not None and spread else None
        rows.append(
            {
                "name": objective.name,
                "unit": objective.unit,
                "direction": objective.direction,
                "label": objective.label(),
                "measured": value,
                "predicted_mean": predicted,
                "predicted_std": spread,
                "error": error,
                "z": z,
            }
        )
    architecture = evaluation.architecture if isinstance(evaluation.architecture, dict) else {}
    return {
        "variables": in_space_order(study, architecture),
        "derived": _derived(study, architecture),
        "network": network_view(study, architecture, evaluation.stage_latency),
        "objectives": rows,
        "stages": _stages(evaluation.stage_latency),
        "on_front": evaluation.pk in pareto_evaluation_ids(study)
        if evaluation.status == Evaluation.Status.DONE
        else False,
        "predictions_are_scores": scores and mean is not None,
        "bounds": bounds,
        "breaks_a_bound": any(bound["met"] is False for bound in bounds),
        "device": device_details(evaluation.device),
        "show_device": measures_on_device(study),
        "device_label": device_label(evaluation.device),
        **_metrics(evaluation.metrics),
    }


def _bounds_of(study: Study, evaluation: Evaluation) -> list[dict[str, Any]]:
    """Each bound of the study, met or broken by ``evaluation`` (and by how much), in words."""
    check = rows_feasibility(study, study_config(study), [evaluation.pk])
    if check is None:
        return []
    measured = evaluation.status == Evaluation.Status.DONE
    out = []
    for bound, amount in zip(check.bounds, check.violation[0].tolist(), strict=True):
        known = measured or bound.known_before
        missing = np.isnan(amount)
        met = None if not known or missing else amount <= 0
        out.append({"text": bound.text, "met": met, "by": None if met is not False else amount})
    return out


def in_space_order(study: Study, architecture: dict[str, Any]) -> list[tuple[str, Any]]:
    """The decoded variables in the space's own order (jsonb on PostgreSQL reorders keys)."""
    try:
        names = study_config(study).build_space().names
    except (ConfigError, KeyError, TypeError, ValueError):
        names = []  # a space that no longer builds still shows its variables, by name
    order = {name: i for i, name in enumerate(names)}
    return sorted(architecture.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _at(values: list[Any] | None, i: int) -> float | None:
    """The i-th finite number of a stored list, or None."""
    if values is None or i >= len(values):
        return None
    return finite_or_none(values[i])


def _derived(study: Study, architecture: dict[str, Any]) -> list[tuple[str, str]]:
    """Absolute widths the HyT-NAS spaces derive from their ratios (empty for other spaces)."""
    space = study.space.get("name") if isinstance(study.space, dict) else None
    if space == "hytnas-mobilevit":
        return _extended_derived(architecture)
    if space != "hytnas":
        return []
    from search_engine.spaces.hytnas import ATTENTION_STAGES, ffn_widths, stage_channels

    try:
        channels = stage_channels(architecture)
        widths = ffn_widths(architecture)
    except (KeyError, TypeError, ValueError):
        return []  # an imported row without the full set of variables
    derived = [(f"channels, stage {i}", str(c)) for i, c in enumerate(channels, start=1)]
    derived += [(f"FFN width, stage {s}", str(w)) for s, w in zip(ATTENTION_STAGES, widths, strict=True)]
    return derived


def _extended_derived(architecture: dict[str, Any]) -> list[tuple[str, str]]:
    """Channels, transformer and FFN widths and the final convolution of the MobileViT extension."""
    from search_engine.spaces import mobilevit

    try:
        channels = mobilevit.stage_channels(architecture)
        dims, widths = mobilevit.transformer_dims(architecture), mobilevit.ffn_widths(architecture)
        final = mobilevit.final_conv_channels(architecture)
    except (KeyError, TypeError, ValueError):
        return []  # an imported row without the full set of variables
    derived = [(f"channels, stage {i}", str(c)) for i, c in enumerate(channels, start=1)]
    derived += [(f"transformer width, stage {s}", str(d)) for s, d in zip((3, 4, 5), dims, strict=True)]
    derived += [(f"FFN width, stage {s}", str(w)) for s, w in zip((3, 4, 5), widths, strict=True)]
    return [*derived, ("final 1×1 convolution (classification)", str(final) if final else "none")]


def _stages(stage_latency: Any) -> list[dict[str, Any]]:
    """Per-stage latency rows (stage, ms, share of the total): backbone, neck, head, then any others.

    The order is fixed here because PostgreSQL's jsonb does not keep the stored key order.
    """
    if not isinstance(stage_latency, dict) or not stage_latency:
        return []
    names = sorted(stage_latency, key=lambda n: (STAGES.index(n) if n in STAGES else len(STAGES), n))
    values = {name: finite_or_none(stage_latency[name]) for name in names}
    total = sum(v for v in values.values() if v is not None)
    return [
        {"stage": name, "ms": v, "share": v / total if v is not None and total > 0 else None}
        for name, v in values.items()
    ]


def _metrics(metrics: Any) -> dict[str, Any]:
    """The evaluator's extra metrics, grouped for reading: sizes per part, measurements, the rest.

    The torch evaluator reports ``params_<part>`` and ``macs_<part>`` for backbone, neck, head (or
    classifier) and total; a part with neither is left out, so classification shows no neck/head.
    """
    if not isinstance(metrics, dict):
        return {"parts": [], "measurements": [], "other_metrics": []}
    used: set[str] = set()
    parts = []
    for part in PARTS:
        params, macs = metrics.get(f"params_{part}"), metrics.get(f"macs_{part}")
        if params is None and macs is None:
            continue
        used.update((f"params_{part}", f"macs_{part}"))
        parts.append({"part": part, "params": _count(params), "macs": _count(macs)})
    measurements = [(label, metrics[key]) for key, label in MEASUREMENTS if key in metrics]
    used.update(key for key, _ in MEASUREMENTS)
    others = [(key, metrics[key]) for key in sorted(metrics) if key not in used]
    return {"parts": parts, "measurements": measurements, "other_metrics": others}


def _count(value: Any) -> Any:
    """A count stored as a float (``123456.0``, or half a multiply-add) as a whole number; else as is."""
    number = finite_or_none(value)
    return value if number is None else round(number)
