"""Parse CSV tables of measured architectures: design columns and objective columns -> ``TableData``.

A table records what a person measured: the design columns hold ``space.features`` (numeric design
values, e.g. absolute channel widths) or the space's variable values, rather than cube coordinates.
Records, numbers and design values are read by ``search_engine.measured_csv``, as the dashboard's
import of measurements reads them.

Two layouts (comma separated, blank lines skipped, line numbers in errors as an editor shows them):

- **with a header row**: the design columns are named by the space's variable names (values as in a
  decoded architecture, e.g. ``growth_stage2 = 1.5``) or by its feature names (``space.feature_names``,
  e.g. ``channels_stage2 = 36``), plus one column per objective named by the objective's name or label
  (``accuracy`` or ``accuracy (%)``);
- **without a header row** (the first row is all numbers): the first ``n_features`` columns are the
  space's features in order, the remaining columns the table's objectives in the order ``wanted`` lists
  them (in the evaluator, the table entry's ``objectives``; all of ``objectives`` when None).

A table needs at least ``MIN_ROWS`` data rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search_engine.errors import DataError, EncodeError
from search_engine.measured_csv import (
    Record,
    design_value,
    measured_number,
    objective_named,
    read_records,
    width_error,
)
from search_engine.objectives import Objective
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array

MIN_ROWS = 10
"""Fewest data rows a table may have: enough for a fit and a cross-validation with up to 10 folds."""


@dataclass(frozen=True)
class TableData:
    """The measured rows of one table.

    Attributes:
        name: the table's name in messages (file path or given name).
        features: ``(n_rows, n_features)`` design values, as ``space.features`` gives them.
        values: ``(n_rows, n_table_objectives)`` measurements in each objective's own units.
        objectives: names of the objectives in ``values``' columns.
    """

    name: str
    features: Array
    values: Array
    objectives: tuple[str, ...]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def parse_table(
    text: str,
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None = None,
) -> TableData:
    """Read one CSV table (see the module docstring for the two layouts).

    Args:
        text: the CSV text.
        name: how messages name the table.
        space: the search space whose features the design columns hold.
        objectives: every objective of the evaluator.
        wanted: names of the objectives this table holds, in order; None: all objectives in the
            header (with a header row) or all of ``objectives`` in order (without one).

    Raises:
        DataError: naming the line and column of a bad cell, a row of the wrong width, a duplicate or
            unknown header, missing columns, an empty table or fewer than ``MIN_ROWS`` data rows.
    """
    try:
        rows = read_records(text)
        if not rows:
            raise DataError("the table is empty")
        if all(_is_number(cell) for cell in rows[0].cells):
            data = _parse_plain(rows, name, space, objectives, wanted)
        else:
            data = _parse_with_header(rows, name, space, objectives, wanted)
        if data.features.shape[0] < MIN_ROWS:
            raise DataError(
                f"{data.features.shape[0]} data rows; at least {MIN_ROWS} are needed "
                "to fit and cross-validate a predictor"
            )
    except DataError as exc:
        raise DataError(f"{exc.message} (table {name})", line=exc.line, column=exc.column) from None
    return data


def _n_features(space: SearchSpace) -> int:
    return int(space.features(np.full((1, space.n_vars), 0.5)).shape[1])


def _parse_plain(
    rows: list[Record],
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None,
) -> TableData:
    """Rows without a header: features first, then the wanted objectives."""
    names = tuple(wanted) if wanted is not None else tuple(o.name for o in objectives)
    n_features = _n_features(space)
    width = n_features + len(names)
    what = f"{n_features} design columns + {', '.join(names)}"
    if wanted is None:
        what += "; list the objectives this table holds in its 'objectives' entry"
    values = np.empty((len(rows), width))  # (n_rows, n_features + n_table_objectives)
    columns = space.feature_names + list(names)
    for i, (line, cells) in enumerate((row.line, row.cells) for row in rows):
        if len(cells) != width:
            raise width_error(cells, width, line, [str(j + 1) for j in range(width)], what)
        for j, cell in enumerate(cells):
            values[i, j] = measured_number(cell, line, str(j + 1), columns[j])
    return TableData(name, values[:, :n_features], values[:, n_features:], names)


def _parse_with_header(
    rows: list[Record],
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None,
) -> TableData:
    """Rows under a header naming variables or features and objectives."""
    header_line, header = rows[0].line, rows[0].cells
    _check_header_names(header, header_line)
    objective_of = {cell: objective_named(cell, objectives) for cell in header}
    names = _objective_columns(objective_of, objectives, wanted, header_line)
    design = [cell for cell in header if objective_of[cell] is None]
    by_variables, expected = _design_columns(design, space, objectives, header_line)

    position = {cell: j for j, cell in enumerate(header)}
    column_of: dict[str, str] = {}  # objective -> the first column naming it
    for cell in header:
        objective = objective_of[cell]
        if objective is not None:
            column_of.setdefault(objective, cell)
    values = np.empty((len(rows) - 1, len(names)))  # (n_rows, n_table_objectives)
    cells_by_row = []
    for i, row in enumerate(rows[1:]):
        if len(row.cells) != len(header):
            raise width_error(row.cells, len(header), row.line, header, "one per header column")
        for k, objective_name in enumerate(names):
            column = column_of[objective_name]
            values[i, k] = measured_number(row.cells[position[column]], row.line, column)
        cells_by_row.append((row.line, row.cells))
    if by_variables:
        F = _features_from_variables(cells_by_row, position, space)
    else:
        F = np.array(
            [
                [measured_number(cells[position[n]], line, n) for n in expected]
                for line, cells in cells_by_row
            ],
            dtype=np.float64,
        ).reshape(len(cells_by_row), len(expected))
    return TableData(name, F, values, names)


def _check_header_names(header: Sequence[str], line: int) -> None:
    """Every column named, no name twice."""
    for j, cell in enumerate(header):
        if not cell:
            raise DataError("empty column name in the header", line=line, column=str(j + 1))
        if cell in header[:j]:
            raise DataError("column name used twice", line=line, column=cell)


def _objective_columns(
    objective_of: Mapping[str, str | None],
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None,
    line: int,
) -> tuple[str, ...]:
    """The objectives the table holds: ``wanted`` (each must have a column), else every one named."""
    present = [o for o in objective_of.values() if o is not None]
    names = tuple(wanted) if wanted is not None else tuple(present)
    if not names:
        known = ", ".join(o.name for o in objectives)
        raise DataError(f"no objective column (expected one of: {known})", line=line)
    for objective_name in names:
        if objective_name not in present:
            raise DataError(f"no column for objective {objective_name!r}", line=line)
    return names


def _design_columns(
    design: Sequence[str], space: SearchSpace, objectives: Sequence[Objective], line: int
) -> tuple[bool, list[str]]:
    """``(by_variables, expected names)``: the design columns name the space's variables or its features.

    Whichever the header names more of wins; every other design column is unknown, and each expected
    name needs its column.
    """
    variables, features = space.names, space.feature_names
    by_variables = sum(cell in variables for cell in design) >= sum(cell in features for cell in design)
    expected = list(variables if by_variables else features)
    for cell in design:
        if cell not in expected:
            raise DataError(
                f"unknown column; expected the space's {'variable' if by_variables else 'feature'} names "
                f"({', '.join(expected)}) and objective names ({', '.join(o.name for o in objectives)})",
                line=line,
                column=cell,
            )
    missing = [n for n in expected if n not in design]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", line=line)
    return by_variables, expected


def _features_from_variables(
    cells_by_row: list[tuple[int, list[str]]], position: Mapping[str, int], space: SearchSpace
) -> Array:
    """Design cells holding variable values -> ``(n_rows, n_features)`` through the space's encoding."""
    architectures = []
    for line, cells in cells_by_row:
        architectures.append({v: design_value(cells[position[v]], line, v) for v in space.names})
    try:
        X = space.encode(architectures)  # (n_rows, n_vars)
    except EncodeError as exc:  # it names the architecture's row and its variable
        raise DataError(exc.message, line=cells_by_row[exc.row][0], column=exc.variable) from None
    return space.features(X)
