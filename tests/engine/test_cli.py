"""The command line: headless runs print hypervolume per iteration and write every evaluation."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from search_engine.cli import main


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), stdout=out)
    return code, out.getvalue()


def test_run_prints_hypervolume_per_iteration_and_writes_every_evaluation(tmp_path: Path) -> None:
    out_file = tmp_path / "evaluations.csv"
    code, printed = run_cli(
        "run",
        "--problem",
        "zdt1",
        "--preset",
        "hytnas",
        "--budget",
        "30",
        "--n-init",
        "10",
        "--batch-size",
        "10",
        "--n-var",
        "4",
        "--out",
        str(out_file),
    )
    assert code == 0
    lines = [line for line in printed.splitlines() if line.startswith("iteration")]
    assert len(lines) == 3 and "hypervolume" in lines[-1]
    rows = list(csv.DictReader(out_file.open()))
    assert len(rows) == 30
    assert list(rows[0]) == ["index", "iteration", "origin", "x0", "x1", "x2", "x3", "f1", "f2", "error"]
    assert {r["iteration"] for r in rows} == {"0", "1", "2"}
    assert all(float(r["f1"]) >= 0 for r in rows)


def test_hytnas_table_run_writes_decoded_architectures_and_units(
    tmp_path: Path, hytnas_data_dir: Path
) -> None:
    out_file = tmp_path / "hytnas.csv"
    code, printed = run_cli(
        "run",
        "--problem",
        "hytnas-table",
        "--data",
        str(hytnas_data_dir),
        "--preset",
        "hytnas",
        "--budget",
        "60",
        "--n-init",
        "40",
        "--batch-size",
        "20",
        "--out",
        str(out_file),
    )
    assert code == 0, printed
    rows = list(csv.DictReader(out_file.open()))
    assert len(rows) == 60
    assert "accuracy (%)" in rows[0] and "latency (ms)" in rows[0] and "patch_stage5" in rows[0]
    assert {r["patch_stage5"] for r in rows} <= {"2", "4", "8"}
    assert "[-75.0, 3500.0]" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--problem", "zdt9"], "problem"),
        (["--problem", "zdt1", "--ref-point", "1.0"], "ref_point"),
        (["--problem", "zdt1", "--n-init", "50", "--budget", "20"], "budget"),
        (["--problem", "hytnas-table"], "--data"),
        (["--problem", "hytnas-table", "--data", "/nonexistent"], "not found"),
    ],
)
def test_bad_input_exits_with_status_2_and_names_the_problem(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["run", "--budget", "100"] if "--budget" not in args else ["run"]
    code, _ = run_cli(*base, *args)
    assert code == 2
    assert message in capsys.readouterr().err


def test_describe_prints_json_of_every_registry() -> None:
    code, printed = run_cli("describe")
    assert code == 0
    assert {"surrogate", "solver", "selection"} <= set(json.loads(printed))


def test_presets_lists_the_original_configuration() -> None:
    code, printed = run_cli("presets")
    assert code == 0 and "hytnas" in printed and "gp" in printed


def test_module_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "search_engine", "presets"], capture_output=True, text=True)
    assert done.returncode == 0 and "hytnas" in done.stdout


def test_a_run_on_simulated_workers_reports_its_clock_and_writes_every_evaluation(tmp_path: Path) -> None:
    out_file = tmp_path / "pool.csv"
    common = ["run", "--problem", "zdt1", "--preset", "hytnas", "--budget", "30", "--n-init", "10"]
    code, printed = run_cli(
        *common, "--n-var", "4", "--workers", "4", "--in-flight", "4", "--out", str(out_file)
    )
    assert code == 0
    assert "4 simulated workers, 4 in flight: 30 evaluations in" in printed and "idle" in printed
    rows = list(csv.DictReader(out_file.open()))
    assert len(rows) == 30 == len({tuple(r[f"x{i}"] for i in range(4)) for r in rows})


def test_keeping_points_in_flight_needs_simulated_workers(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_cli("run", "--problem", "zdt1", "--budget", "200", "--in-flight", "4")
    assert code == 2 and "--workers" in capsys.readouterr().err


def test_run_with_a_constraint_reports_infeasible_evaluations_and_refuses_an_unknown_quantity() -> None:
    args = [
        "run",
        "--problem",
        "zdt1",
        "--budget",
        "20",
        "--n-init",
        "10",
        "--batch-size",
        "10",
        "--n-var",
        "3",
    ]
    code, printed = run_cli(*args, "--constraint", "f1>=0.5")
    assert code == 0
    assert "infeasible" in printed.splitlines()[0]
    code, printed = run_cli(*args, "--constraint", "params<=2e6")
    assert code == 2
