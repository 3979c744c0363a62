"""The table evaluator: per-objective tables, CV fit quality, configuration errors, HyT-NAS data."""

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
from search_engine.evaluators.table import TableEvaluator
from search_engine.registry import EVALUATORS
from search_engine.spaces.hytnas import HyTNASSpace, largest_power_of_two_at_most
from tests.engine.evaluators.tables import (
    KINDS,
    OBJECTIVES,
    SPACE,
    build,
    design,
    header_csv,
    plain_csv,
    true_values,
)


def _fresh_architectures(n: int) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    width, rate, kind = design(n, seed=99)
    architectures = [
        {"width": int(w), "rate": float(r), "kind": KINDS[k]}
        for w, r, k in zip(width, rate, kind, strict=True)
    ]
    score, energy = true_values(width, rate, kind)
    return architectures, score, energy


def test_header_table_fits_and_predicts_unseen_architectures() -> None:
    evaluator = build([{"text": header_csv()}], objective_models={"score": "xgboost-linear"})
    architectures, score, energy = _fresh_architectures(40)
    results = evaluator.evaluate(architectures)
    assert all(r.ok for r in results)
    predicted = np.array([r.objectives for r in results])  # (40, 2), own units: score not negated
    np.testing.assert_allclose(predicted[:, 0], score, atol=0.3)
    assert stats.kendalltau(predicted[:, 1], energy).statistic > 0.75


def test_fit_report_gives_out_of_fold_quality_per_objective() -> None:
    evaluator = build([{"text": header_csv()}], objective_models={"score": "xgboost-linear"})
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
    evaluator = build([{"text": text}], objectives=[{"name": "noise"}])
    quality = evaluator.fit_report()["noise"]
    assert quality.r2 is not None and quality.r2 < 0.2  # an in-sample fit of 300 trees would score high
    assert quality.kendall_tau is not None and abs(quality.kendall_tau) < 0.25


def test_each_objective_may_come_from_its_own_table() -> None:
    evaluator = build(
        [
            {"text": plain_csv(30, seed=1, objectives=("energy",)), "objectives": ["energy"]},
            {"text": plain_csv(50, seed=2, objectives=("score",)), "objectives": ["score"]},
        ]
    )
    report = evaluator.fit_report()
    assert (report["score"].n_rows, report["energy"].n_rows) == (50, 30)
    results = evaluator.evaluate(_fresh_architectures(5)[0])
    assert all(r.ok and r.objectives is not None and len(r.objectives) == 2 for r in results)


def test_tables_holding_the_same_objective_are_stacked() -> None:
    evaluator = build(
        [
            {"text": plain_csv(20, seed=1)},
            {"text": plain_csv(25, seed=2, objectives=("score",)), "objectives": ["score"]},
        ]
    )
    assert evaluator.training_data("score")[1].size == 45
    assert evaluator.training_data("energy")[1].size == 20


def test_configuration_mistakes_name_their_field(tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tables": []}, "evaluator.params.tables"),
        ({"tables": [{"text": "1,2", "path": "a.csv"}]}, "evaluator.params.tables[0]"),
        (
            {"tables": [{"text": plain_csv(), "objectives": ["speed"]}]},
            "evaluator.params.tables[0].objectives",
        ),
        (
            {"tables": [{"text": plain_csv(objectives=("score",)), "objectives": ["score"]}]},
            "evaluator.params.tables",
        ),
        (
            {"tables": [{"text": plain_csv()}], "objective_models": {"speed": "xgboost"}},
            "evaluator.params.objective_models.speed",
        ),
        (
            {"tables": [{"text": plain_csv()}], "objectives": [{"name": "a"}, {"name": "a"}]},
            "evaluator.params.objectives",
        ),
        ({"tables": [{"text": plain_csv()}], "space": {"name": "nope"}}, "evaluator.params.space.name"),
    ]
    for params, field in cases:
        params.setdefault("objectives", OBJECTIVES)
        params.setdefault("space", SPACE)
        with pytest.raises(ConfigError) as error:
            EVALUATORS.build("table", params)
        assert error.value.field == field, params
    with pytest.raises(DataError, match="cannot read table"):
        build([{"path": str(tmp_path / "missing.csv")}])


def test_tables_are_read_from_files(tmp_path: Path) -> None:
    path = tmp_path / "measured.csv"
    path.write_text("\ufeff" + header_csv(), encoding="utf-8")  # a byte-order mark, as spreadsheets write
    evaluator = build([{"path": str(path)}])
    assert evaluator.training_data("energy")[1].size == 80


def test_same_seed_gives_the_same_predictions() -> None:
    architectures = _fresh_architectures(10)[0]
    first = [r.objectives for r in build([{"text": header_csv()}], seed=5).evaluate(architectures)]
    second = [r.objectives for r in build([{"text": header_csv()}], seed=5).evaluate(architectures)]
    assert first == second


def test_an_architecture_outside_the_space_fails_alone() -> None:
    evaluator = build([{"text": header_csv()}])
    architectures = _fresh_architectures(3)[0]
    architectures[1] = {"width": 99, "rate": 0.5, "kind": "conv"}
    results = evaluator.evaluate(architectures)
    assert [r.ok for r in results] == [True, False, True]
    assert "outside" in (results[1].error or "")


def test_custom_objectives_have_no_customary_reference_point() -> None:
    evaluator = build([{"text": header_csv()}])
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
