"""The upload of a filled-in pending-work CSV: every row checked and matched first, then all recorded or none.

The rules (which column wins, blank rows, failures, rows measured meanwhile) are stated in
``pending_work``, whose per-row check (``entered_result``) this module applies to each line. The
file is read as the import reads it (``csv_import``'s size limit and encoding, the engine's CSV
records), and problems are ``csv_import.RowProblem`` s, by line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.csv_export import unneutralise
from hytnas_web.studies.services.csv_import import ImportResult, RowProblem, read_upload_text
from hytnas_web.studies.services.pending_work import (
    ID_COLUMN,
    KEY_COLUMN,
    MeasuredColumns,
    entered_result,
    measured_columns,
    not_pending_reason,
    record_by_hand,
)
from search_engine.errors import DataError, EncodeError
from search_engine.measured_csv import (
    design_value,
    objective_named,
    read_records,
    refused_values,
    width_error,
)
from search_engine.spaces.base import SearchSpace
from search_engine.types import EvaluationResult


@dataclass
class PendingUpload:
    """What an upload of measured work did: rows recorded, skipped blank, reported, refused.

    ``written`` is False when nothing was written: a bad row (all-or-nothing) or a refused file.
    """

    n_rows: int = 0
    n_done: int = 0
    n_failed: int = 0
    n_blank: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    not_pending: list[RowProblem] = field(default_factory=list)
    written: bool = False

    @property
    def n_recorded(self) -> int:
        return self.n_done + self.n_failed


@dataclass
class _Entry:
    """A filled-in row checked and matched: its line, its evaluation, the result it describes."""

    line: int
    evaluation_id: int
    result: EvaluationResult


@dataclass(frozen=True)
class _Header:
    """Where each column sits: id, key, design variables and measured columns (by name)."""

    width: int
    names: list[str]
    id: int | None
    key: int | None
    variables: dict[str, int]
    measured: dict[str, int]


def upload_measured_work(study: Study, upload: bytes | IO[bytes], user: Any) -> PendingUpload:
    """Check a filled-in pending-work CSV, then record its filled rows (all of them, or none).

    Returns:
        A :class:`PendingUpload`; nothing is raised for bad input.
    """
    result = PendingUpload()
    read = ImportResult()
    text = read_upload_text(upload, read)  # the import's size limit and encoding rules
    result.errors.extend(read.errors)
    if text is None:
        return result
    space = study_config(study).build_space()
    columns = measured_columns(study)
    entries = _entries(study, text, space, columns, result)
    if result.errors or not entries:
        result.errors.sort(key=lambda e: e.line or 0)
        return result
    _record(entries, user, result)
    return result


def _entries(
    study: Study, text: str, space: SearchSpace, columns: MeasuredColumns, result: PendingUpload
) -> list[_Entry]:
    """Every filled row checked and matched to a pending evaluation; problems land in ``result``."""
    try:
        records = read_records(text)
    except DataError as exc:
        result.errors.append(RowProblem(exc.line, "", exc.message))
        return []
    if not records:
        result.errors.append(RowProblem(None, "", "the file is empty"))
        return []
    header = _header(records[0].cells, records[0].line, space.names, columns, result)
    if header is None:
        return []
    data = records[1:]
    result.n_rows = len(data)
    known = _known_evaluations(study, data, header)
    entries: list[_Entry] = []
    first_line: dict[int, int] = {}
    for record in data:
        line, cells = record.line, record.cells
        if len(cells) != header.width:
            result.errors.append(
                RowProblem.of(width_error(cells, header.width, line, header.names, "one per header column"))
            )
            continue
        measured = {name: cells[i] for name, i in header.measured.items()}
        entered, problems = entered_result(columns, measured, line)
        if entered is None and not problems:
            result.n_blank += 1
            continue
        evaluation, found = _matched(study, space, header, cells, line, known)
        problems = found + problems
        if evaluation is not None and evaluation.pk in first_line:
            again = (
                f"evaluation {evaluation.pk} again: line {first_line[evaluation.pk]} already gives its result"
            )
            problems.append(RowProblem(line, ID_COLUMN if header.id is not None else KEY_COLUMN, again))
        result.errors.extend(problems)
        if evaluation is None or entered is None or problems:
            continue
        first_line[evaluation.pk] = line
        if evaluation.status != Evaluation.Status.PENDING:
            result.not_pending.append(RowProblem(line, "", not_pending_reason(evaluation)))
            continue
        entries.append(_Entry(line, evaluation.pk, entered))
    if not result.errors and not entries and not result.not_pending:
        result.errors.append(RowProblem(None, "", "no row is filled in: every evaluation stays pending"))
    return entries


def _header(
    cells: list[str], line: int, variables: list[str], columns: MeasuredColumns, result: PendingUpload
) -> _Header | None:
    """Map the header's columns; unknown, repeated or missing columns are errors (None then)."""
    names = [unneutralise(cell) for cell in cells]
    objectives = [o for o, _ in columns.objectives]
    labels = {o.name: c for o, c in columns.objectives}
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        # A design variable keeps its own name, even one that also names an objective.
        objective = None if name in variables else objective_named(name, objectives)
        canonical = labels[objective] if objective is not None else name  # "accuracy" reads as "accuracy (%)"
        if canonical in position:
            result.errors.append(RowProblem(line, name, "column name used twice"))
        position.setdefault(canonical, i)
    expected = [ID_COLUMN, KEY_COLUMN, *variables, *columns.names]
    for name, i in position.items():
        if name not in expected:
            result.errors.append(
                RowProblem(
                    line, name or f"column {i + 1}", f"unknown column (expected: {', '.join(expected)})"
                )
            )
    for _, column in columns.objectives:
        if column not in position:
            result.errors.append(RowProblem(line, column, "missing column: an objective of the study"))
    identified = ID_COLUMN in position or KEY_COLUMN in position or all(v in position for v in variables)
    if not identified:
        result.errors.append(
            RowProblem(
                line,
                ID_COLUMN,
                "missing column: id (or key, or every design variable) says which architecture a row is",
            )
        )
    if result.errors:
        return None
    return _Header(
        width=len(cells),
        names=names,
        id=position.get(ID_COLUMN),
        key=position.get(KEY_COLUMN),
        variables={v: position[v] for v in variables if v in position},
        measured={name: position[name] for name in columns.names if name in position},
    )


def _known_evaluations(study: Study, data: Sequence[Any], header: _Header) -> dict[str, Evaluation]:
    """The study's evaluations the file's ids and keys name, by ``"id:<n>"`` and ``"key:<k>"``."""
    ids = {c.cells[header.id] for c in data if header.id is not None and len(c.cells) > header.id}
    keys = {
        unneutralise(c.cells[header.key])
        for c in data
        if header.key is not None and len(c.cells) > header.key
    }
    numbers = [int(i) for i in ids if i.isdigit() and len(i) < 19]
    found: dict[str, Evaluation] = {}
    for start in range(0, max(len(numbers), len(keys)), 500):
        chunk_ids, chunk_keys = numbers[start : start + 500], sorted(keys)[start : start + 500]
        for evaluation in study.evaluations.filter(pk__in=chunk_ids):
            found[f"id:{evaluation.pk}"] = evaluation
        for evaluation in study.evaluations.filter(key__in=chunk_keys):
            found[f"key:{evaluation.key}"] = evaluation
    return found


def _matched(
    study: Study,
    space: SearchSpace,
    header: _Header,
    cells: list[str],
    line: int,
    known: dict[str, Evaluation],
) -> tuple[Evaluation | None, list[RowProblem]]:
    """The evaluation a row names (id wins, then key, then design values), or why none."""
    id_text = cells[header.id] if header.id is not None else ""
    key_text = unneutralise(cells[header.key]) if header.key is not None else ""
    by_design, problems = _design_key(space, header, cells, line)
    if problems:
        return None, problems
    if id_text:
        evaluation = known.get(f"id:{int(id_text)}") if id_text.isdigit() and len(id_text) < 19 else None
        if evaluation is None:
            reason = (
                f"{id_text!r} is not an evaluation id (a whole number)"
                if not id_text.isdigit()
                else f"this study has no evaluation {id_text}"
            )
            return None, [RowProblem(line, ID_COLUMN, reason)]
        if key_text and key_text != evaluation.key:
            return None, [
                RowProblem(
                    line,
                    KEY_COLUMN,
                    f"is not the key of evaluation {evaluation.pk} ({evaluation.key}): "
                    "the row names two architectures",
                )
            ]
    elif key_text:
        evaluation = known.get(f"key:{key_text}")
        if evaluation is None:
            return None, [RowProblem(line, KEY_COLUMN, "no architecture of this study has this key")]
    elif by_design is not None:
        evaluation = study.evaluations.filter(key=by_design).first()
        if evaluation is None:
            return None, [RowProblem(line, "", "no architecture of this study has these design values")]
        return evaluation, []
    else:
        return None, [
            RowProblem(
                line,
                ID_COLUMN,
                "empty: give the evaluation's id (or its key) to say which architecture this is",
            )
        ]
    if by_design is not None and by_design != evaluation.key:
        column = next(
            (
                v
                for v in header.variables
                if str(evaluation.architecture.get(v)) != cells[header.variables[v]]
            ),
            "",
        )
        return None, [
            RowProblem(
                line,
                column,
                f"the design values are not those of evaluation {evaluation.pk}: "
                "the row names two architectures",
            )
        ]
    return evaluation, []


def _design_key(
    space: SearchSpace, header: _Header, cells: list[str], line: int
) -> tuple[str | None, list[RowProblem]]:
    """The key the row's design values encode to (None when not all are given), or what is wrong with them."""
    values = {v: unneutralise(cells[i]) for v, i in header.variables.items()}
    if len(values) != len(space.names) or not all(values.values()):
        return None, []
    architecture = {v: design_value(text, line, v) for v, text in values.items()}
    try:
        X = space.encode([architecture])  # (1, n_vars)
    except EncodeError:
        return None, [RowProblem.of(e) for e in refused_values(space, architecture, line)]
    return space.keys(X)[0], []


def _record(entries: list[_Entry], user: Any, result: PendingUpload) -> None:
    """Write every entry in one transaction; one no longer pending is reported, the others written."""
    with transaction.atomic():
        for entry in entries:
            evaluation = Evaluation.objects.select_for_update().get(pk=entry.evaluation_id)
            if not record_by_hand(evaluation, entry.result, user, via="CSV upload"):
                evaluation.refresh_from_db()
                result.not_pending.append(RowProblem(entry.line, "", not_pending_reason(evaluation)))
            elif entry.result.ok:
                result.n_done += 1
            else:
                result.n_failed += 1
    result.written = result.n_recorded > 0
