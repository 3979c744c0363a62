"""Importing measured architectures into a study from a CSV (a warm start), validated before writing.

The header names the space's variables and the study's objectives, by name or with their unit as
the evaluations export writes them (``accuracy (%)``); ``latency_<stage>_ms`` columns are read when
present, and the export's other columns (``id``, ``iteration``, ``predicted_*``, ...) are ignored,
so an export imports into a new study of the same space as the same values. A ``status`` column
other than ``done`` marks a row that was never measured; it is skipped, not an error.

Everything is checked before anything is written, and each problem is reported with its line,
column and reason. Records, numbers, design values and the values a space refuses are read by the
engine's ``search_engine.measured_csv``, the same reader as the table evaluator's measured tables,
so one bad cell gives one message wherever the file is read. By default one bad row refuses the
whole file (all-or-nothing); ``valid_rows_only=True`` imports the good rows and reports the rest.
An architecture the study already holds, or one that appears twice in the file, is reported as a
duplicate and added once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hytnas_web.studies.formatting import file_size
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import json_input
from hytnas_web.studies.services.api_payloads import MAX_DEPTH, check_device
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.csv_export import objective_column, unneutralise
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.versions import bump_version
from search_engine.errors import DataError, EncodeError
from search_engine.measured_csv import (
    Record,
    design_value,
    measured_number,
    objective_named,
    read_records,
    refused_values,
    width_error,
)
from search_engine.objectives import Objective
from search_engine.spaces.base import SearchSpace
from search_engine.types import STAGES

ENCODE_CHUNK = 500
"""Rows encoded per call; a chunk with a bad value is re-encoded row by row to find it."""

IGNORED_COLUMNS = frozenset(
    {
        "id",
        "iteration",
        "source",
        "error",
        "index",
        "origin",
        "device",
        "latency_noisy",
        "latency_spread",
        "latency_runtime",
        "latency_runtime_settings",
    }
)
"""Columns of the exports (ours and the command line's) that say nothing about a measurement."""

DEVICE_COLUMN = "device_json"
"""The export's full description of the measuring machine, read back so imports keep it."""

MAX_DEVICE_JSON_BYTES = 32 * 1024
"""Largest ``device_json`` cell: a flat object of at most 64 keys and 200-character values fits."""


@dataclass(frozen=True)
class RowProblem:
    """One problem of the file: ``line`` (1 = the header; None for the whole file), column, reason."""

    line: int | None
    column: str
    reason: str

    @classmethod
    def of(cls, error: DataError) -> RowProblem:
        """The problem a located ``DataError`` of the engine's reader describes."""
        return cls(error.line, error.column or "", error.message)


@dataclass
class ImportResult:
    """What an import did: rows written, duplicates and skipped rows reported, errors found.

    ``written`` is False when nothing was written because of errors (all-or-nothing) or because the
    file itself was refused (too large, not text, bad header).
    """

    n_rows: int = 0
    n_imported: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)
    written: bool = False

    @property
    def n_duplicates(self) -> int:
        return len(self.duplicates)

    @property
    def n_errors(self) -> int:
        return len(self.errors)

    @property
    def error_lines(self) -> int:
        """How many distinct lines have at least one error."""
        return len({e.line for e in self.errors})


@dataclass
class _Row:
    """One data line, parsed: design values, measured objectives, stage latency (or None)."""

    line: int
    architecture: dict[str, Any]
    objectives: list[float]
    stage_latency: dict[str, float] | None
    device: dict[str, Any] = field(default_factory=dict)
    errors: list[RowProblem] = field(default_factory=list)


@dataclass
class _Columns:
    """Where each needed value sits in a row: cell index per variable, objective and stage."""

    width: int
    variables: dict[str, int]
    objectives: list[int]
    stages: dict[str, int]
    status: int | None
    device: int | None


def import_columns(study: Study) -> dict[str, list[str]]:
    """The columns an import reads: required design variables and objectives, optional stage latency."""
    config = study_config(study)
    return {
        "variables": config.build_space().names,
        "objectives": [objective_column(o) for o in config.objectives],
        "optional": [f"latency_{stage}_ms" for stage in STAGES],
    }


def import_evaluations(
    study: Study, upload: bytes | IO[bytes], *, valid_rows_only: bool = False
) -> ImportResult:
    """Validate a CSV of measured architectures and import it into ``study``.

    Args:
        study: the study the rows join (as ``source=imported``, ``status=done``, no iteration);
            they count towards its budget like any evaluation.
        upload: the file's bytes, or a binary file (read up to the size limit only).
        valid_rows_only: import the rows without errors even when other rows have some; by default
            any error refuses the whole file.

    Returns:
        An :class:`ImportResult`; nothing is raised for bad input.
    """
    result = ImportResult()
    text = read_upload_text(upload, result)
    if text is None:
        return result
    config = study_config(study)
    space = config.build_space()
    rows = _parse(text, space, list(config.objectives), result)
    if rows is None:
        return result
    _encode(rows, space)
    for row in rows:
        result.errors.extend(row.errors)
    result.errors.sort(key=lambda e: e.line or 0)  # stable: a row's errors stay in column order
    if result.errors and not valid_rows_only:
        return result
    good = [row for row in rows if not row.errors]
    _write(study, space, good, result)
    return result


def read_upload_text(upload: bytes | IO[bytes], result: ImportResult) -> str | None:
    """The upload as text, or None with the reason recorded (too large, not UTF-8, empty)."""
    limit = settings.MAX_TABLE_UPLOAD_BYTES
    data = upload[: limit + 1] if isinstance(upload, bytes) else upload.read(limit + 1)
    if len(data) > limit:
        result.errors.append(
            RowProblem(None, "", f"the file is larger than {file_size(limit)}, the largest accepted")
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.errors.append(RowProblem(None, "", f"the file is not UTF-8 text (byte {exc.start + 1})"))
        return None
    if not text.strip():
        result.errors.append(RowProblem(None, "", "the file is empty"))
        return None
    return text


def _parse(
    text: str, space: SearchSpace, objectives: list[Objective], result: ImportResult
) -> list[_Row] | None:
    """Data rows with their values checked one by one; None when the header or the CSV is unusable."""
    try:
        records = read_records(text)
    except DataError as exc:
        result.errors.append(RowProblem(exc.line, "", exc.message))
        return None
    if not records:
        result.errors.append(RowProblem(None, "", "the file is empty"))
        return None
    header, data = records[0], records[1:]
    columns = _columns(header, space.names, objectives, result)
    if columns is None:
        return None
    result.n_rows = len(data)
    if result.n_rows == 0:
        result.errors.append(RowProblem(None, "", "the file has a header but no rows"))
        return None
    labels = [objective_column(o) for o in objectives]
    rows = [_row(record, columns, header.cells, space.names, labels, result) for record in data]
    return [row for row in rows if row is not None]


def _columns(
    header: Record, variables: list[str], objectives: list[Objective], result: ImportResult
) -> _Columns | None:
    """Map the header to variables, objectives and stages; record unknown, missing, repeated columns."""
    line = header.line
    cleaned = [unneutralise(h) for h in header.cells]
    position = _first_positions(cleaned, line, result)
    found_variables = {v: position[v] for v in variables if v in position}
    found_objectives = _objective_positions(position, objectives)
    stage_columns = {f"latency_{stage}_ms": stage for stage in STAGES}
    stages = {stage_columns[c]: i for c, i in position.items() if c in stage_columns}
    used = {*found_variables.values(), *found_objectives.values(), *stages.values()}
    if DEVICE_COLUMN in position:
        used.add(position[DEVICE_COLUMN])
    labels = [objective_column(o) for o in objectives]
    expected = ", ".join([*variables, *labels])
    result.errors.extend(
        RowProblem(line, name or f"column {i + 1}", f"unknown column (expected: {expected})")
        for name, i in position.items()
        if i not in used and not _ignored(name)
    )
    result.errors.extend(
        RowProblem(line, name, "missing column: a design variable of the study's space")
        for name in variables
        if name not in found_variables
    )
    result.errors.extend(
        RowProblem(line, label, "missing column: an objective of the study")
        for declared, label in zip(objectives, labels, strict=True)
        if declared.name not in found_objectives
    )
    if result.errors:
        return None
    return _Columns(
        width=len(header.cells),
        variables=found_variables,
        objectives=[found_objectives[o.name] for o in objectives],
        stages=stages,
        status=position.get("status"),
        device=position.get(DEVICE_COLUMN),
    )


def _objective_positions(position: dict[str, int], objectives: list[Objective]) -> dict[str, int]:
    """Each objective's column: the first header naming it (by name or label, any case)."""
    found: dict[str, int] = {}
    for name, i in position.items():
        objective = objective_named(name, objectives)
        if objective is not None:
            found.setdefault(objective, i)
    return found


def _first_positions(names: list[str], line: int, result: ImportResult) -> dict[str, int]:
    """Each column name's first index, in header order; a name used again is recorded as an error."""
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in position:
            result.errors.append(RowProblem(line, name, "column name used twice"))
        position.setdefault(name, i)
    return position


def _ignored(name: str) -> bool:
    """Columns of the exports that carry no measurement (``predicted_*`` included)."""
    return (
        name in IGNORED_COLUMNS
        or name in ("status", "feasible")
        or name.startswith(("predicted_", "violation "))  # derived from the measurement and the bounds
    )


def _row(
    record: Record,
    columns: _Columns,
    header: list[str],
    variables: list[str],
    labels: list[str],
    result: ImportResult,
) -> _Row | None:
    """One data line parsed (errors kept on the row); None for a row skipped as not measured."""
    line, cells = record.line, record.cells
    if len(cells) != columns.width:
        width = columns.width
        result.errors.append(RowProblem.of(width_error(cells, width, line, header, "one per header column")))
        return None
    if columns.status is not None:
        status = unneutralise(cells[columns.status])
        if status and status != Evaluation.Status.DONE:
            result.skipped.append(RowProblem(line, "status", f"not a measurement (status {status})"))
            return None
    row = _Row(line, {}, [], None)
    for name in variables:
        try:
            row.architecture[name] = design_value(unneutralise(cells[columns.variables[name]]), line, name)
        except DataError as exc:
            row.errors.append(RowProblem.of(exc))
            row.architecture[name] = ""
    for label, index in zip(labels, columns.objectives, strict=True):
        number = _number(cells[index], line, label, row.errors)
        row.objectives.append(number if number is not None else math.nan)
    stages = {}
    for stage, index in columns.stages.items():
        if cells[index]:
            number = _number(cells[index], line, f"latency_{stage}_ms", row.errors)
            if number is not None and number < 0:
                row.errors.append(RowProblem(line, f"latency_{stage}_ms", "a latency cannot be negative"))
            elif number is not None:
                stages[stage] = number
    row.stage_latency = stages or None
    if columns.device is not None:
        row.device = _device(cells[columns.device], line, row.errors)
    return row


def _device(text: str, line: int, errors: list[RowProblem]) -> dict[str, Any]:
    """The measuring machine's description from ``device_json`` (empty cell: none recorded)."""
    text = unneutralise(text.strip())
    if not text:
        return {}
    try:
        parsed = json_input.loads(text, max_bytes=MAX_DEVICE_JSON_BYTES, max_depth=MAX_DEPTH, what="the cell")
        device = check_device(parsed, DEVICE_COLUMN)
    except ValueError as exc:  # bad JSON, over a limit, or a PayloadError naming what is wrong
        errors.append(RowProblem(line, DEVICE_COLUMN, f"not a device description: {exc}"))
        return {}
    return device or {}


def _number(cell: str, line: int, column: str, errors: list[RowProblem]) -> float | None:
    """A finite measured number, or None with the reason added to ``errors``."""
    try:
        return measured_number(cell, line, column)
    except DataError as exc:
        errors.append(RowProblem.of(exc))
        return None


def _encode(rows: list[_Row], space: SearchSpace) -> None:
    """Check design values with the space's ``encode``; a chunk that fails is redone row by row."""
    for start in range(0, len(rows), ENCODE_CHUNK):
        chunk = rows[start : start + ENCODE_CHUNK]
        clean = [row for row in chunk if not row.errors]
        try:
            space.encode([row.architecture for row in clean])
            checked = [row for row in chunk if row.errors]
        except EncodeError:
            checked = chunk
        for row in checked:
            known = {e.column for e in row.errors}
            refused = refused_values(space, row.architecture, row.line, known)
            row.errors.extend(RowProblem.of(error) for error in refused)
            row.errors.sort(key=lambda e: _column_order(e.column, space.names))


def _column_order(column: str, names: list[str]) -> int:
    """Sort key putting a row's errors in the order of its design variables, objectives last."""
    return names.index(column) if column in names else len(names)


def _write(study: Study, space: SearchSpace, rows: list[_Row], result: ImportResult) -> None:
    """Drop duplicates (in the file, then in the study) and insert the rest in one transaction."""
    if rows:
        X = space.encode([row.architecture for row in rows])  # (n_rows, n_vars) canonical points
        keys = space.keys(X)
    else:
        X, keys = np.empty((0, space.n_vars)), []
    first_line: dict[str, int] = {}
    fresh: list[int] = []
    for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
        if key in first_line:
            result.duplicates.append(
                RowProblem(row.line, "", f"the same architecture as line {first_line[key]}")
            )
        else:
            first_line[key] = row.line
            fresh.append(i)
    architectures = space.decode(X) if rows else []
    now = timezone.now()
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()  # one import at a time
        existing = _existing(study, [keys[i] for i in fresh])
        new = []
        for i in fresh:
            if keys[i] in existing:
                result.duplicates.append(
                    RowProblem(rows[i].line, "", f"already in the study (evaluation {existing[keys[i]]})")
                )
                continue
            new.append(
                Evaluation(
                    study=study,
                    iteration=None,
                    key=keys[i],
                    x=X[i].tolist(),
                    architecture=jsonable(architectures[i]),
                    source=Evaluation.Source.IMPORTED,
                    status=Evaluation.Status.DONE,
                    objectives=rows[i].objectives,
                    stage_latency=rows[i].stage_latency,
                    device=rows[i].device,
                    finished_at=now,
                )
            )
        if new:
            version = bump_version(study.pk)  # the live dashboard picks the imported rows up
            for evaluation in new:
                evaluation.version = version
            Evaluation.objects.bulk_create(new, batch_size=500)
            Study.objects.filter(pk=study.pk).update(updated_at=now)
    result.duplicates.sort(key=lambda d: d.line or 0)
    result.n_imported = len(new)
    result.written = bool(new)


def _existing(study: Study, keys: list[str]) -> dict[str, int]:
    """``key -> evaluation id`` for those of ``keys`` the study already holds (queried in chunks)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(study.evaluations.filter(key__in=chunk).values_list("key", "id"))
    return found
