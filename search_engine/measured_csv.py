"""Reading CSV files of measured architectures, cell by cell, with every problem located by line and column.

One family of files holds what a person (or an export) measured: design columns named by a space's
variables (or its features), objective columns named by an objective's name or label. Two readers
build on this module: the table evaluator's measured tables (``evaluators/table_csv.py``, which
stops at the first problem) and the dashboard's import of measurements (which reports them all).
Both therefore read the same records, parse numbers and design values the same way and refuse the
same cells with the same ``DataError`` (line numbers as an editor shows them, the column by its
header name).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_engine.errors import DataError, EncodeError
from search_engine.finite_numbers import parse_finite
from search_engine.objectives import Objective
from search_engine.spaces.base import SearchSpace


@dataclass(frozen=True)
class Record:
    """One non-blank CSV record: the line it ends on and its cells, surrounding spaces stripped."""

    line: int
    cells: list[str]


def read_records(text: str) -> list[Record]:
    """Every record of ``text`` that holds something; a record of blank cells carries nothing.

    A leading byte-order mark is dropped. Quoted cells may span lines; a record is located by the
    line it ends on.

    Raises:
        DataError: ``not valid CSV: ...`` at the line the csv module gave up on (e.g. a cell over
            its field limit of 128 KiB).
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    records = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append(Record(reader.line_num, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise DataError(f"not valid CSV: {exc}", line=reader.line_num) from None
    return records


def measured_number(cell: str, line: int, column: str, what: str = "") -> float:
    """The finite number in one cell, or DataError at ``line``/``column``.

    ``what`` names what the column holds when its header does not (a headerless table's column 3
    holds ``rate``): the message then ends ``for rate``.
    """
    try:
        return parse_finite(cell)
    except ValueError as exc:
        raise DataError(f"{exc}{f' for {what}' if what else ''}", line=line, column=column) from None


def design_value(cell: str, line: int, column: str) -> Any:
    """A design value as a space's ``encode`` reads it: a whole number, a number, or else the text.

    ``16`` stays an int so a message about it reads ``16``; ``16.0`` matches the choice 16 all the
    same. An empty cell is a DataError at ``line``/``column``.
    """
    if not cell:
        raise DataError("empty cell, expected a value", line=line, column=column)
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return cell


def objective_named(header: str, objectives: Sequence[Objective]) -> str | None:
    """The objective a column header names, by name or label (``accuracy (%)``), any case; or None."""
    text = header.lower()
    for objective in objectives:
        if text in (objective.name.lower(), objective.label().lower()):
            return objective.name
    return None


def width_error(cells: Sequence[str], width: int, line: int, columns: Sequence[str], what: str) -> DataError:
    """The error of a row with the wrong number of cells, at its first missing or extra column.

    ``columns`` names the columns (the header, or 1-based positions); ``what`` says what belongs in
    the row, e.g. ``one per header column``.
    """
    first = min(len(cells), width)
    column = columns[first] if first < len(columns) else str(first + 1)
    return DataError(f"expected {width} values ({what}), found {len(cells)}", line=line, column=column)


def refused_values(
    space: SearchSpace, architecture: Mapping[str, Any], line: int, known: Collection[str] = ()
) -> list[DataError]:
    """Every value of one architecture that ``space`` refuses to encode, one error per variable.

    The space's ``EncodeError`` names the variable; its value is replaced by a valid one and the
    architecture encoded again, until it encodes. Variables in ``known`` (already reported, e.g.
    empty cells) take a valid value from the start.
    """
    filler = space.decode(np.full((1, space.n_vars), 0.5))[0]
    trial = {name: filler[name] if name in known else value for name, value in architecture.items()}
    errors: list[DataError] = []
    for _ in range(space.n_vars + 1):
        try:
            space.encode([trial])
            return errors
        except EncodeError as exc:
            errors.append(DataError(exc.message, line=line, column=exc.variable))
            if trial.get(exc.variable) == filler[exc.variable]:
                return errors  # the filler itself is refused: nothing more can be learnt
            trial[exc.variable] = filler[exc.variable]
    return errors
