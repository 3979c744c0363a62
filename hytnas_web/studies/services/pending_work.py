"""Pending work of ``external`` studies done by hand: listed, downloaded as CSV, uploaded back, typed in.

A study whose evaluator is ``external`` keeps its proposed architectures as pending evaluations. Its
owner may measure them without any code: download them as a CSV (one row per pending evaluation:
``id``, ``key``, the design variables, then empty measured columns), fill in the measured columns
and upload the file back, or type the values of one row into the page.

Every entered row is checked by the worker API's own rules: the cells become the body of a
``ReportRequest`` and go through ``checked`` and ``declared_values`` (missing or undeclared
objectives and metrics, NaN, negative latency, an error with objectives), so a value the API
refuses is refused here with the same words, placed at its column. The results are written by
``record_result``, so the last one of an iteration finishes it and the study moves on; the device
says it was entered by hand, and by whom.

Rules of an upload (``pending_upload``, which applies ``entered_result`` to each line):

- A row is matched to its evaluation by ``id`` (which wins: it names one evaluation), else by
  ``key``, else by its design values; a ``key`` or design values that describe another
  architecture than the ``id`` are refused.
- A row whose measured columns are all empty is skipped: its evaluation stays pending. A row with
  an ``error`` is recorded as a failure with that reason (and carries no objectives).
- The whole file is checked first; any bad row writes nothing (all-or-nothing), and every problem
  is listed with its line and column (``csv_import``'s ``RowProblem``, its size limit and reader).
- A row for an evaluation that is no longer pending (measured meanwhile, by a worker or by another
  upload) is reported and not overwritten; the other rows are still recorded.

A result may be entered for an evaluation a worker holds under a lease: the measurement in hand is
kept, and the worker's later report is refused as late (``remote_work.LateReport``), since
``record_result`` leaves the evaluation under no lease.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.api_payloads import InvalidPayload, ReportRequest, checked, declared_values
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.csv_export import csv_lines, objective_column, unneutralise
from hytnas_web.studies.services.csv_import import RowProblem
from hytnas_web.studies.services.devices import device_label
from hytnas_web.studies.services.evaluations import record_result
from search_engine.errors import DataError
from search_engine.evaluators.external import MeasuredOutside
from search_engine.measured_csv import (
    measured_number,
)
from search_engine.objectives import Objective
from search_engine.types import STAGES, EvaluationResult

BY_HAND_EVALUATOR = "external"
"""The evaluator whose pending work may be done by hand."""

ID_COLUMN, KEY_COLUMN, ERROR_COLUMN = "id", "key", "error"
METRIC_PREFIX = "metric_"
"""A declared metric's column is ``metric_<name>``, so it never clashes with a design variable."""

PENDING_LISTED = 50
"""Pending evaluations the study page lists; the CSV holds them all."""

HAND_DEVICE = "entered by hand"
"""The device name (and ``source``) of a result entered by hand, as the tables show it."""

_NO_LEASE = UUID(int=0)
"""What stands for the lease in a report entered by hand (the report model requires one)."""


def measured_by_hand(study: Study) -> bool:
    """True when ``study``'s pending work may be done by hand (its evaluator is ``external``)."""
    return study.evaluator_name == BY_HAND_EVALUATOR


# --- what the page lists ---


@dataclass(frozen=True)
class PendingArchitecture:
    """One pending evaluation as the page lists it; ``holder`` is "" when no live lease holds it."""

    id: int
    key: str
    architecture: dict[str, Any]
    iteration: int | None
    holder: str
    lease_until: datetime.datetime | None


@dataclass(frozen=True)
class PendingList:
    """The first ``PENDING_LISTED`` pending evaluations of a study (oldest first) and how many there are."""

    n_pending: int
    n_held: int
    variables: list[str]
    rows: list[PendingArchitecture]


def pending_list(study: Study, now: datetime.datetime | None = None) -> PendingList:
    """What waits for a measurement, who holds it under a lease and until when (judged at ``now``)."""
    now = now or timezone.now()
    pending = study.evaluations.filter(status=Evaluation.Status.PENDING)
    listed = pending.select_related("iteration", "lease__token").order_by("id")[:PENDING_LISTED]
    return PendingList(
        n_pending=pending.count(),
        n_held=pending.filter(lease_expires_at__gt=now).count(),
        variables=study_config(study).build_space().names,
        rows=[_listed(evaluation, now) for evaluation in listed],
    )


def pending_architecture(study: Study, evaluation_id: int) -> PendingArchitecture | None:
    """One pending evaluation of ``study`` as the page lists it; None when it is not pending (any more)."""
    evaluation = (
        study.evaluations.filter(pk=evaluation_id, status=Evaluation.Status.PENDING)
        .select_related("iteration", "lease__token")
        .first()
    )
    return None if evaluation is None else _listed(evaluation, timezone.now())


def _listed(evaluation: Evaluation, now: datetime.datetime) -> PendingArchitecture:
    held = evaluation.lease_expires_at is not None and evaluation.lease_expires_at > now
    holder = ""
    if held:
        lease = evaluation.lease
        device = device_label(lease.device) if lease else ""
        holder = f"{lease.token.name} on {device or 'an undescribed device'}" if lease else "a job"
    return PendingArchitecture(
        id=evaluation.pk,
        key=evaluation.key,
        architecture=dict(evaluation.architecture or {}),
        iteration=evaluation.iteration.index if evaluation.iteration else None,
        holder=holder,
        lease_until=evaluation.lease_expires_at if held else None,
    )


# --- the measured columns and their checks ---


@dataclass(frozen=True)
class MeasuredColumns:
    """The columns a person fills in for one pending evaluation, and what the study declares.

    ``objectives``, ``stages`` and ``metrics`` pair each declared name with its column:
    ``(Objective, "accuracy (%)")``, ``("backbone", "latency_backbone_ms")``,
    ``("params", "metric_params")``.
    """

    objectives: list[tuple[Objective, str]]
    stages: list[tuple[str, str]]
    metrics: list[tuple[str, str]]

    @property
    def names(self) -> list[str]:
        """Every measured column in file order, ``error`` last."""
        return [
            *(c for _, c in self.objectives),
            *(c for _, c in self.stages),
            *(c for _, c in self.metrics),
            ERROR_COLUMN,
        ]

    def column_of(self, field_path: str | None) -> str:
        """The column an API field path (``objectives.latency``, ``metrics.params``) is entered in."""
        head, _, name = (field_path or "").partition(".")
        if head == "objectives":
            named = [c for o, c in self.objectives if o.name == name]
            return named[0] if named else self.objectives[0][1]
        if head == "stage_latency":
            return f"latency_{name}_ms"
        if head == "metrics":
            return f"{METRIC_PREFIX}{name}"
        return ERROR_COLUMN if head in ("error", "status") else head


def measured_columns(study: Study) -> MeasuredColumns:
    """The measured columns of ``study``: its objectives with units, stage latency, declared metrics."""
    config = study_config(study)
    evaluator = config.build_evaluator()
    metric_names = evaluator.metric_names() if isinstance(evaluator, MeasuredOutside) else ()
    return MeasuredColumns(
        objectives=[(o, objective_column(o)) for o in config.objectives],
        stages=[(stage, f"latency_{stage}_ms") for stage in STAGES],
        metrics=[(name, f"{METRIC_PREFIX}{name}") for name in metric_names or ()],
    )


def entered_result(
    columns: MeasuredColumns, cells: Mapping[str, str], line: int | None = None
) -> tuple[EvaluationResult | None, list[RowProblem]]:
    """The result one filled-in row (``cells`` by column name) describes, or its problems.

    Returns ``(None, [])`` for a row whose measured cells are all empty (left pending). Numbers are
    read by the engine's CSV reader, the rest is checked as the worker API checks a report.
    """
    problems: list[RowProblem] = []
    text = {name: unneutralise((cells.get(name) or "").strip()) for name in columns.names}
    if not any(text.values()):
        return None, []
    error = text[ERROR_COLUMN]
    objectives: dict[str, float] = {}
    for objective, column in columns.objectives:
        value = _number(text[column], line, column, problems)
        if value is not None:
            objectives[objective.name] = value
    stages: dict[str, float] = {}
    for stage, column in columns.stages:
        value = _number(text[column], line, column, problems)
        if value is not None:
            stages[stage] = value
    metrics = {name: _metric(text[column]) for name, column in columns.metrics if text[column]}
    if problems:
        return None, problems
    body = {
        "lease": str(_NO_LEASE),
        "status": "failed" if error else "done",
        "objectives": objectives or (None if error else {}),
        "stage_latency": stages or None,
        "metrics": metrics or None,
        "error": error or None,
    }
    try:
        report = checked(ReportRequest, body, n_objectives=len(columns.objectives))
        values = declared_values(
            report, [o.name for o, _ in columns.objectives], [n for n, _ in columns.metrics]
        )
    except InvalidPayload as exc:
        return None, [RowProblem(line, columns.column_of(exc.field), _in_words(exc))]
    if error:
        return EvaluationResult(
            objectives=None, stage_latency=report.stage_latency, metrics=metrics, error=error
        ), []
    return EvaluationResult(
        objectives=tuple(values or ()), stage_latency=report.stage_latency, metrics=metrics
    ), []


def _in_words(exc: InvalidPayload) -> str:
    """The API's message in the words of a table (a row, not a report)."""
    message = exc.message.replace(
        'a "failed" report carries no objectives', "a row with an error carries no objectives"
    )
    return message.replace(
        "every objective of the study needs a value", "fill in every objective, or give an error"
    )


def _number(cell: str, line: int | None, column: str, problems: list[RowProblem]) -> float | None:
    """A finite number (None for an empty cell, or with the reason added to ``problems``)."""
    if not cell:
        return None
    try:
        return measured_number(cell, line or 0, column)
    except DataError as exc:
        problems.append(RowProblem(line, column, exc.message))
        return None


def _metric(cell: str) -> Any:
    """A metric as typed: a whole number, a number (NaN kept, for the report's check to refuse), or text."""
    for parse in (int, float):
        try:
            return parse(cell)
        except ValueError:
            continue
    return cell


def hand_device(user: Any, via: str) -> dict[str, Any]:
    """The device of a result entered by hand: says so, who entered it, how (``page``, ``CSV upload``)."""
    return {"name": HAND_DEVICE, "source": HAND_DEVICE, "user": str(user.get_username()), "via": via}


def record_by_hand(evaluation: Evaluation, result: EvaluationResult, user: Any, via: str = "page") -> bool:
    """Write a result entered by hand; False when the evaluation was no longer pending (nothing written)."""
    return record_result(evaluation, result, hand_device(user, via))


def not_pending_reason(evaluation: Evaluation) -> str:
    """Why a result for ``evaluation`` was not written: it was measured meanwhile, by whom and when."""
    by = device_label(evaluation.device) or "someone else"
    when = evaluation.finished_at.isoformat(timespec="seconds") if evaluation.finished_at else "earlier"
    already = f"evaluation {evaluation.pk} is already {evaluation.status} (by {by}, at {when})"
    return f"{already}; nothing was overwritten"


# --- the CSV download ---


def pending_columns(study: Study) -> list[str]:
    """The pending-work CSV's header: ``id``, ``key``, the design variables, then the measured columns."""
    return [ID_COLUMN, KEY_COLUMN, *study_config(study).build_space().names, *measured_columns(study).names]


def export_pending_csv(study: Study) -> Iterator[str]:
    """One CSV line per pending evaluation of ``study``, measured columns empty, for a person to fill in."""
    header = pending_columns(study)
    variables = study_config(study).build_space().names
    blank = [None] * (len(header) - 2 - len(variables))
    pending = (
        study.evaluations.filter(status=Evaluation.Status.PENDING)
        .order_by("id")
        .values_list("id", "key", "architecture")
        .iterator(chunk_size=500)
    )
    rows = (
        [pk, key, *((architecture or {}).get(name) for name in variables), *blank]
        for pk, key, architecture in pending
    )
    return csv_lines(header, rows)
