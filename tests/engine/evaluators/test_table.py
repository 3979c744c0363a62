"""The table evaluator: CSV layouts, per-objective tables, CV fit quality, located errors, HyT-NAS data."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.table import MIN_ROWS, TableEvaluator, feature_names
from search_engine.registry import EVALUATORS
from search_engine.spaces.hytnas import HyTNASSpace, largest_power_of_two_at_most

SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "width", "type": "int", "low": 1, "high": 8},
            {"name": "rate", "type": "float", "low": 0.0, "high": 2.0},
            {"name": "kind", "type": "choice", "choices": ["conv", "attn", "mlp"]},
        ]
    },
}
KINDS = ["conv", "attn", "mlp"]
OBJECTIVES = [
    {"name": "score", "direction": "max", "unit": "%"},
    {"name": "energy", "direction": "min", "unit": "mJ"},
]
HEADER = "width,rate,kind,score,energy"


def _true_values(width: np.ndarray, rate: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """score is linear in the design, energy a product of it."""
    score = 10.0 + 2.0 * width - 3.0 * rate + kind
    energy = width * (1.0 + rate) * (1.0 + kind)
    return score, energy


def _design(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 9, n), np.round(rng.random(n) * 2.0, 3), rng.integers(0, 3, n)


def _header_csv(n: int = 80, seed: int = 0) -> str:
    """A table with a header row naming the variables (values as architectures hold them)."""
    width, rate, kind = _design(n, seed)
    score, energy = _true_values(width, rate, kind)
    lines = [HEADER]
    for w, r, k, s, e in zip(width, rate, kind, score, energy, strict=True):
        lines.append(f"{w},{r},{KINDS[k]},{s:.4f},{e:.4f}")
    return "\n".join(lines) + "\n"


def _plain_csv(n: int = 80, seed: int = 0, objectives: tuple[str, ...] = ("score", "energy")) -> str:
    """A table without a header: the features (width, rate, kind index), then the objectives."""
    width, rate, kind = _design(n, seed)
    values = dict(zip(("score", "energy"), _true_values(width, rate, kind), strict=True))
    rows = np.column_stack([width, rate, kind] + [values[o] for o in objectives])
    return "\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n"


def _build(tables: list[dict[str, Any]], **params: Any) -> TableEvaluator:
    params.setdefault("objectives", OBJECTIVES)
    params.setdefault("space", SPACE)
    evaluator = EVALUATORS.build("table", {"tables": tables, **params})
    assert isinstance(evaluator, TableEvaluator)
    return evaluator


def _fresh_architectures(n: int) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    width, rate, kind = _design(n, seed=99)
    architectures = [
        {"width": int(w), "rate": float(r), "kind": KINDS[k]}
        for w, r, k in zip(width, rate, kind, strict=True)
    ]
    score, energy = _true_values(width, rate, kind)
    return architectures, score, energy


def test_header_table_fits_and_predicts_unseen_architectures() -> None:
    evaluator = _build([{"text": _header_csv()}], objective_models={"score": "xgboost-linear"})
    architectures, score, energy = _fresh_architectures(40)
    results = evaluator.evaluate(architectures)
    assert all(r.ok for r in results)
    predicted = np.array([r.objectives for r in results])  # (40, 2), own units: score not negated
    np.testing.assert_allclose(predicted[:, 0], score, atol=0.3)
    assert stats.kendalltau(predicted[:, 1], energy).statistic > 0.75


def test_fit_report_gives_out_of_fold_quality_per_objective() -> None:
    evaluator = _build([{"text": _header_csv()}], objective_models={"score": "xgboost-linear"})
    report = evaluator.fit_report()
    assert list(report) == ["score", "energy"]
    for name, quality in report.items():
        assert (quality.objective, quality.n_rows, quality.folds) == (name, 80, 5)
        _, y = evaluator.training_data(name)
        assert quality.r2 == pytest.approx(1.0 - quality.rmse**2 / y.var())
    assert report["score"].model == "xgboost-linear" and report["energy"].model == "xgboost"
    assert report["score"].r2 is not None and report["score"].r2 > 0.99
    assert report["energy"].kendall_tau is not None and report["energy"].kendall_tau > 0.7
    assert report["energy"].to_dict()["n_rows"] == 80


def test_cross_validation_finds_nothing_in_pure_noise() -> None:
    rng = np.random.default_rng(3)
    rows = [
        f"{w},{r:.3f},{KINDS[k]},{v:.5f}"
        for w, r, k, v in zip(
            rng.integers(1, 9, 60),
            rng.random(60) * 2,
            rng.integers(0, 3, 60),
            rng.standard_normal(60),
            strict=True,
        )
    ]
    text = "width,rate,kind,noise\n" + "\n".join(rows)
    evaluator = _build([{"text": text}], objectives=[{"name": "noise"}])
    quality = evaluator.fit_report()["noise"]
    assert quality.r2 is not None and quality.r2 < 0.2  # an in-sample fit of 300 trees would score high
    assert quality.kendall_tau is not None and abs(quality.kendall_tau) < 0.25


def test_headerless_table_holds_features_then_objectives() -> None:
    from_plain = _build([{"text": _plain_csv()}])
    from_header = _build([{"text": _header_csv()}])
    for name in ("score", "energy"):
        F_plain, y_plain = from_plain.training_data(name)
        F_header, y_header = from_header.training_data(name)
        np.testing.assert_allclose(F_plain, F_header)
        np.testing.assert_allclose(y_plain, y_header, atol=1e-3)


def test_each_objective_may_come_from_its_own_table() -> None:
    evaluator = _build(
        [
            {"text": _plain_csv(30, seed=1, objectives=("energy",)), "objectives": ["energy"]},
            {"text": _plain_csv(50, seed=2, objectives=("score",)), "objectives": ["score"]},
        ]
    )
    report = evaluator.fit_report()
    assert (report["score"].n_rows, report["energy"].n_rows) == (50, 30)
    results = evaluator.evaluate(_fresh_architectures(5)[0])
    assert all(r.ok and r.objectives is not None and len(r.objectives) == 2 for r in results)


def test_tables_holding_the_same_objective_are_stacked() -> None:
    evaluator = _build(
        [
            {"text": _plain_csv(20, seed=1)},
            {"text": _plain_csv(25, seed=2, objectives=("score",)), "objectives": ["score"]},
        ]
    )
    assert evaluator.training_data("score")[1].size == 45
    assert evaluator.training_data("energy")[1].size == 20


def test_header_may_name_objectives_by_label_in_any_order_and_case() -> None:
    width, rate, kind = _design(20, seed=4)
    score, energy = _true_values(width, rate, kind)
    lines = ["Energy (mJ), kind, score (%), rate, width"]
    lines += [
        f"{e},{KINDS[k]},{s},{r},{w}" for w, r, k, s, e in zip(width, rate, kind, score, energy, strict=True)
    ]
    evaluator = _build([{"text": "\n".join(lines)}])
    np.testing.assert_allclose(evaluator.training_data("energy")[1], energy)
    np.testing.assert_allclose(evaluator.training_data("score")[0][:, 2], kind)  # kind -> choice index


def test_hytnas_tables_may_name_features_or_variables(rng: np.random.Generator) -> None:
    space = HyTNASSpace()
    X = space.sample_uniform(30, rng)
    F = space.features(X)  # (30, 23): absolute channels and FFN widths
    latency = F[:, 10:14].sum(axis=1) * F[:, :4].sum(axis=1)
    objectives = [{"name": "latency", "direction": "min", "unit": "ms"}]
    by_features = "\n".join(
        [",".join([*feature_names(space), "latency"])]
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
    assert "channels_stage3" in feature_names(space) and "growth_stage3" in space.names


def test_blank_lines_are_skipped_and_still_counted_in_line_numbers() -> None:
    lines = _header_csv(12).splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[3], "high", 1)  # score cell of file line 9 below
    text = "\n\n" + "\n".join(lines[:3]) + "\n   \n" + "\n".join(lines[3:])
    with pytest.raises(DataError) as error:
        _build([{"text": text}])
    assert (error.value.line, error.value.column) == (9, "score")
    assert (
        _build([{"text": "\n" + _header_csv(12).replace("\n", "\n\n")}]).training_data("score")[1].size == 12
    )


def _replace_cell(text: str, line: int, column: int, value: str) -> str:
    lines = text.splitlines()
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines)


def _bad_tables() -> list[tuple[str, str, int | None, str | None, str]]:
    """(case, CSV text, expected line, expected column, words the message contains)."""
    header, plain = _header_csv(15), _plain_csv(15)
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
        _build([{"text": text, "name": "upload.csv"}])
    assert (error.value.line, error.value.column) == (line, column), case
    assert words in error.value.message, case
    assert "upload.csv" in str(error.value)
    if line is not None:
        assert str(error.value).startswith(f"line {line}")


def test_configuration_mistakes_name_their_field(tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tables": []}, "evaluator.params.tables"),
        ({"tables": [{"text": "1,2", "path": "a.csv"}]}, "evaluator.params.tables[0]"),
        (
            {"tables": [{"text": _plain_csv(), "objectives": ["speed"]}]},
            "evaluator.params.tables[0].objectives",
        ),
        (
            {"tables": [{"text": _plain_csv(objectives=("score",)), "objectives": ["score"]}]},
            "evaluator.params.tables",
        ),
        (
            {"tables": [{"text": _plain_csv()}], "objective_models": {"speed": "xgboost"}},
            "evaluator.params.objective_models.speed",
        ),
        (
            {"tables": [{"text": _plain_csv()}], "objectives": [{"name": "a"}, {"name": "a"}]},
            "evaluator.params.objectives",
        ),
        ({"tables": [{"text": _plain_csv()}], "space": {"name": "nope"}}, "evaluator.params.space.name"),
    ]
    for params, field in cases:
        params.setdefault("objectives", OBJECTIVES)
        params.setdefault("space", SPACE)
        with pytest.raises(ConfigError) as error:
            EVALUATORS.build("table", params)
        assert error.value.field == field, params
    with pytest.raises(DataError, match="cannot read table"):
        _build([{"path": str(tmp_path / "missing.csv")}])


def test_tables_are_read_from_files(tmp_path: Path) -> None:
    path = tmp_path / "measured.csv"
    path.write_text("\ufeff" + _header_csv(), encoding="utf-8")  # a byte-order mark, as spreadsheets write
    evaluator = _build([{"path": str(path)}])
    assert evaluator.training_data("energy")[1].size == 80


def test_same_seed_gives_the_same_predictions() -> None:
    architectures = _fresh_architectures(10)[0]
    first = [r.objectives for r in _build([{"text": _header_csv()}], seed=5).evaluate(architectures)]
    second = [r.objectives for r in _build([{"text": _header_csv()}], seed=5).evaluate(architectures)]
    assert first == second


def test_an_architecture_outside_the_space_fails_alone() -> None:
    evaluator = _build([{"text": _header_csv()}])
    architectures = _fresh_architectures(3)[0]
    architectures[1] = {"width": 99, "rate": 0.5, "kind": "conv"}
    results = evaluator.evaluate(architectures)
    assert [r.ok for r in results] == [True, False, True]
    assert "outside" in (results[1].error or "")


def test_custom_objectives_have_no_customary_reference_point() -> None:
    evaluator = _build([{"text": _header_csv()}])
    assert evaluator.default_reference_point() is None
    assert evaluator.default_space().names == ["width", "rate", "kind"]


def test_importing_the_module_and_describing_evaluators_does_not_load_xgboost() -> None:
    code = (
        "import sys, search_engine.evaluators.table as t, search_engine.registry as r; "
        "r.EVALUATORS.describe(); print('xgboost' in sys.modules, 'pymoo' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[3]
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert output.stdout.strip() == "False False"


@functools.lru_cache(maxsize=1)
def _hytnas(data_dir: Path) -> TableEvaluator:
    return TableEvaluator.hytnas(data_dir)


def _architecture_of_row(row: np.ndarray, space: HyTNASSpace) -> dict[str, Any] | None:
    """The architecture whose features are ``row``, or None when the row is off the space's grid."""
    names = space.names
    values: dict[str, Any] = {names[j]: row[j] for j in range(10)}
    for offset in range(4):  # channels -> growth over the previous stage
        values[names[10 + offset]] = row[10 + offset] / row[9 + offset]
    for offset in range(3):
        values[names[14 + offset]] = row[14 + offset]
        values[names[17 + offset]] = row[17 + offset] / largest_power_of_two_at_most(int(row[11 + offset]))
        values[names[20 + offset]] = row[20 + offset]
    try:
        X = space.encode([values])
    except ValueError:
        return None
    return space.decode(X)[0] if np.array_equal(space.features(X)[0], row) else None


def test_hytnas_loader_fits_accuracy_and_latency_tables(hytnas_data_dir: Path) -> None:
    evaluator = _hytnas(hytnas_data_dir)
    assert [o.label() for o in evaluator.objectives] == ["accuracy (%)", "latency (ms)"]
    assert evaluator.default_reference_point() == (75.0, 3500.0)
    assert isinstance(evaluator.default_space(), HyTNASSpace)
    report = evaluator.fit_report()
    assert (report["accuracy"].n_rows, report["latency"].n_rows) == (304, 1769)
    assert report["accuracy"].model == "xgboost-linear"
    assert report["latency"].kendall_tau is not None and report["latency"].kendall_tau > 0.5
    assert report["accuracy"].kendall_tau is not None and report["accuracy"].kendall_tau > 0.5


def test_hytnas_predicted_accuracy_of_the_tables_own_rows_tracks_the_measurements(
    hytnas_data_dir: Path,
) -> None:
    evaluator = _hytnas(hytnas_data_dir)
    table = np.loadtxt(hytnas_data_dir / "models_acc_pr.csv", delimiter=",")  # (304, 24)
    predicted = evaluator.predict_features(table[:, :23])[:, 0]
    assert np.corrcoef(predicted, table[:, 23])[0, 1] > 0.75
    assert 70.0 < predicted.mean() < 90.0


def test_hytnas_latency_through_evaluate_ranks_measured_architectures(hytnas_data_dir: Path) -> None:
    evaluator = _hytnas(hytnas_data_dir)
    space = HyTNASSpace()
    table = np.loadtxt(hytnas_data_dir / "models_lat_pre.csv", delimiter=",")[:300]  # (300, 24)
    pairs = [
        (a, y) for a, y in ((_architecture_of_row(r[:23], space), r[23]) for r in table) if a is not None
    ]
    assert len(pairs) > 200  # most measured rows are architectures of the space
    results = evaluator.evaluate([a for a, _ in pairs])
    predicted = np.array([r.objectives[1] for r in results if r.objectives is not None])
    assert predicted.size == len(pairs)
    assert stats.kendalltau(predicted, [y for _, y in pairs]).statistic > 0.7
