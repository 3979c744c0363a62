"""CSV tables of measured architectures: both layouts, header names, blank lines, located errors."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.errors import DataError
from search_engine.evaluators.table import TableEvaluator
from search_engine.evaluators.table_csv import MIN_ROWS
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.evaluators.tables import KINDS, build, design, header_csv, plain_csv, true_values


def test_headerless_table_holds_features_then_objectives() -> None:
    from_plain = build([{"text": plain_csv()}])
    from_header = build([{"text": header_csv()}])
    for name in ("score", "energy"):
        F_plain, y_plain = from_plain.training_data(name)
        F_header, y_header = from_header.training_data(name)
        np.testing.assert_allclose(F_plain, F_header)
        np.testing.assert_allclose(y_plain, y_header, atol=1e-3)


def test_header_may_name_objectives_by_label_in_any_order_and_case() -> None:
    width, rate, kind = design(20, seed=4)
    score, energy = true_values(width, rate, kind)
    lines = ["Energy (mJ), kind, score (%), rate, width"]
    lines += [
        f"{e},{KINDS[k]},{s},{r},{w}" for w, r, k, s, e in zip(width, rate, kind, score, energy, strict=True)
    ]
    evaluator = build([{"text": "\n".join(lines)}])
    np.testing.assert_allclose(evaluator.training_data("energy")[1], energy)
    np.testing.assert_allclose(evaluator.training_data("score")[0][:, 2], kind)  # kind -> choice index


def test_hytnas_tables_may_name_features_or_variables(rng: np.random.Generator) -> None:
    space = HyTNASSpace()
    X = space.sample_uniform(30, rng)
    F = space.features(X)  # (30, 23): absolute channels and FFN widths
    latency = F[:, 10:14].sum(axis=1) * F[:, :4].sum(axis=1)
    objectives = [{"name": "latency", "direction": "min", "unit": "ms"}]
    by_features = "\n".join(
        [",".join([*space.feature_names, "latency"])]
        + [",".join(f"{v:g}" for v in [*row, y]) for row, y in zip(F, latency, strict=True)]
    )
    by_variables = "\n".join(
        [",".join([*space.names, "latency"])]
        + [
            ",".join([*(str(a[n]) for n in space.names), f"{y:g}"])
            for a, y in zip(space.decode(X), latency, strict=True)
        ]
    )
    first = TableEvaluator([{"text": by_features}], objectives=objectives)
    second = TableEvaluator([{"text": by_variables}], objectives=objectives)
    np.testing.assert_allclose(first.training_data("latency")[0], F)
    np.testing.assert_allclose(second.training_data("latency")[0], F)
    assert "channels_stage3" in space.feature_names and "growth_stage3" in space.names


def test_blank_lines_are_skipped_and_still_counted_in_line_numbers() -> None:
    lines = header_csv(12).splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[3], "high", 1)  # score cell of file line 9 below
    text = "\n\n" + "\n".join(lines[:3]) + "\n   \n" + "\n".join(lines[3:])
    with pytest.raises(DataError) as error:
        build([{"text": text}])
    assert (error.value.line, error.value.column) == (9, "score")
    assert build([{"text": "\n" + header_csv(12).replace("\n", "\n\n")}]).training_data("score")[1].size == 12


def _replace_cell(text: str, line: int, column: int, value: str) -> str:
    lines = text.splitlines()
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines)


def _bad_tables() -> list[tuple[str, str, int | None, str | None, str]]:
    """(case, CSV text, expected line, expected column, words the message contains)."""
    header, plain = header_csv(15), plain_csv(15)
    lines = header.splitlines()
    return [
        (
            "text in an objective cell",
            _replace_cell(header, 4, 3, "n/a"),
            4,
            "score",
            "'n/a' is not a number",
        ),
        (
            "text in a feature cell",
            _replace_cell(plain, 3, 1, "fast"),
            3,
            "2",
            "'fast' is not a number for rate",
        ),
        ("empty cell", _replace_cell(plain, 6, 4, ""), 6, "5", "empty cell"),
        ("infinite value", _replace_cell(header, 7, 4, "inf"), 7, "energy", "not a finite number"),
        ("short row", header.replace(lines[5], lines[5].rsplit(",", 1)[0]), 6, "energy", "found 4"),
        (
            "long row",
            plain.replace(plain.splitlines()[2], plain.splitlines()[2] + ",1"),
            3,
            "6",
            "expected 5",
        ),
        ("unknown choice", _replace_cell(header, 8, 2, "lstm"), 8, "kind", "'lstm' is not a choice"),
        ("value out of range", _replace_cell(header, 9, 0, "12"), 9, "width", "outside"),
        (
            "duplicate header",
            header.replace("width,rate,kind", "width,rate,rate", 1),
            1,
            "rate",
            "used twice",
        ),
        ("unknown header", header.replace("rate", "depth", 1), 1, "depth", "unknown column"),
        (
            "missing design column",
            "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in lines),
            1,
            None,
            "missing column(s) kind",
        ),
        ("no objective column", "\n".join(line.rsplit(",", 2)[0] for line in lines), 1, None, "no objective"),
        ("too few rows", "\n".join(lines[:MIN_ROWS]), None, None, f"at least {MIN_ROWS}"),
        ("empty file", "", None, None, "empty"),
        ("only blank lines", "\n \n\t\n", None, None, "empty"),
    ]


@pytest.mark.parametrize(
    ("case", "text", "line", "column", "words"), _bad_tables(), ids=lambda v: str(v)[:30]
)
def test_each_malformed_table_gives_a_data_error_naming_line_and_column(
    case: str, text: str, line: int | None, column: str | None, words: str
) -> None:
    with pytest.raises(DataError) as error:
        build([{"text": text, "name": "upload.csv"}])
    assert (error.value.line, error.value.column) == (line, column), case
    assert words in error.value.message, case
    assert "upload.csv" in str(error.value)
    if line is not None:
        assert str(error.value).startswith(f"line {line}")
