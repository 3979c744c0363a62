"""The reader of measured-architecture CSV files: records by line, numbers, values a space refuses."""

from __future__ import annotations

import pytest

from search_engine.errors import DataError
from search_engine.finite_numbers import parse_finite
from search_engine.measured_csv import measured_number, read_records, refused_values
from search_engine.spaces.generic import GenericSpace

SPACE = GenericSpace(
    [
        {"name": "width", "type": "int", "low": 1, "high": 8},
        {"name": "kind", "type": "choice", "choices": ["conv", "attn"]},
        {"name": "rate", "type": "float", "low": 0.0, "high": 1.0},
    ]
)


def test_records_keep_their_editor_line_numbers_past_blank_lines_and_a_byte_order_mark() -> None:
    records = read_records('\ufeffa, b\n\n , \n1,"two\nlines"\n3,4\n')
    assert [(r.line, r.cells) for r in records] == [
        (1, ["a", "b"]),
        (5, ["1", "two\nlines"]),
        (6, ["3", "4"]),
    ]


def test_a_cell_over_the_csv_field_limit_is_a_data_error_at_its_line() -> None:
    with pytest.raises(DataError, match="not valid CSV") as error:
        read_records("a,b\n1,2\n" + "x" * 200_000 + "\n")
    assert error.value.line == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty cell, expected a number"),
        ("n/a", "'n/a' is not a number"),
        ("nan", "'nan' is not a finite number"),
    ],
)
def test_a_cell_that_is_not_a_finite_number_is_refused_where_it_sits(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_finite(text)
    with pytest.raises(DataError) as error:
        measured_number(text, 4, "3", "rate")
    assert (error.value.line, error.value.column, error.value.message) == (4, "3", f"{reason} for rate")
    assert parse_finite(" 1e-3 ") == 0.001


def test_every_refused_value_of_a_row_is_reported_by_its_variable() -> None:
    errors = refused_values(SPACE, {"width": 9, "kind": "lstm", "rate": 0.5}, line=7)
    assert [(e.line, e.column) for e in errors] == [(7, "width"), (7, "kind")]
    assert "'lstm' is not a choice of 'kind'" in errors[1].message
    assert refused_values(SPACE, {"width": 2, "kind": "conv", "rate": 0.5}, line=7) == []
    assert (
        refused_values(SPACE, {"width": "", "kind": "conv", "rate": 2}, line=3, known={"width"})[0].column
        == "rate"
    )
