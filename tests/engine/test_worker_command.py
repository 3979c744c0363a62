"""The command worker's runner: the user's command measures one claimed architecture, without a server.

Each test runs a small Python script as the command, in a real process, and checks the result the
worker would report, the failure reasons a user reads, the time limit and the log file.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from search_engine.client import WorkItem
from search_engine.worker import CommandSettings, evaluate_with_command, main
from search_engine.worker import command as command_module
from search_engine.worker.command import STDERR_TAIL_CHARS, BadResult, checked_result, time_limit_of

LEASE = "7f1c2a9e-0000-4000-8000-000000000001"
OBJECTIVES = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]


def claimed(time_limit_seconds: float | None = None, metrics: list[str] | None = None) -> dict[str, Any]:
    """One entry of a claim's ``evaluations`` for an external study, as the API sends it."""
    return {
        "id": 17,
        "study": {"id": 3, "name": "my pipeline"},
        "key": "layers=3|width=16",
        "architecture": {"layers": 3, "width": 16},
        "x": [0.25, 0.5],
        "evaluator": {"name": "external", "params": {"time_limit_seconds": time_limit_seconds}},
        "objectives": OBJECTIVES,
        "metrics": ["params"] if metrics is None else metrics,
    }


def settings_for(tmp_path: Path, script: str, time_limit: float | None = None) -> CommandSettings:
    """Settings running ``script`` (Python source) with this interpreter, logs under ``tmp_path``."""
    path = tmp_path / "my_eval.py"
    path.write_text(textwrap.dedent(script), encoding="utf-8")
    return CommandSettings((sys.executable, str(path)), tmp_path, tmp_path / "logs", time_limit)


def run(tmp_path: Path, script: str, evaluation: dict[str, Any] | None = None, **options: Any) -> Any:
    return evaluate_with_command(evaluation or claimed(), LEASE, settings_for(tmp_path, script, **options))


def item() -> WorkItem:
    return WorkItem.from_claim(claimed(), LEASE)


def process_is_gone(pid: int) -> bool:
    """No such process, or only its zombie (it has exited; its parent has not collected it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


MEASURE = """
    import json, os, sys
    item = json.load(sys.stdin)
    with open(os.environ["HYTNAS_ARCHITECTURE_FILE"]) as handle:
        assert json.load(handle) == item
    assert not os.path.exists(os.environ["HYTNAS_RESULT_FILE"])
    assert os.environ["HYTNAS_EVALUATION_ID"] == "17" and os.environ["HYTNAS_STUDY_ID"] == "3"
    layers, width = item["architecture"]["layers"], item["architecture"]["width"]
    print("training...", file=sys.stderr)
    print(json.dumps({
        "objectives": {"latency": layers * width / 10, "accuracy": 70.5},
        "stage_latency": {"backbone": 4.0},
        "metrics": {"params": layers * width * 1000},
    }))
"""


def test_a_result_printed_by_name_is_reported_in_the_studys_order_and_the_log_keeps_the_output(
    tmp_path: Path,
) -> None:
    outcome = run(tmp_path, MEASURE)
    assert outcome.result.ok, outcome.result.error
    assert outcome.result.objectives == (70.5, 4.8)
    assert outcome.result.stage_latency == {"backbone": 4.0}
    assert outcome.result.metrics == {"params": 48000.0}
    assert outcome.log == tmp_path / "logs" / "study-3" / "evaluation-17.log"
    log = outcome.log.read_text(encoding="utf-8")
    for words in ("exit status 0", "outcome: done", '"width": 16', "training...", '"accuracy": 70.5'):
        assert words in log


def test_the_command_reads_the_item_with_its_cube_point_objectives_and_time_limit(tmp_path: Path) -> None:
    script = """
        import json, sys
        item = json.load(sys.stdin)
        print(json.dumps(item), file=sys.stderr)
        print(json.dumps({"objectives": [1.0, 2.0]}))
    """
    outcome = run(tmp_path, script, claimed(time_limit_seconds=90.0))
    assert outcome.result.ok, outcome.result.error
    given = json.loads(outcome.log.read_text().split("--- standard error ---\n")[1].splitlines()[0])
    assert given["x"] == [0.25, 0.5] and given["objectives"] == OBJECTIVES
    assert given["metrics"] == ["params"] and given["time_limit_seconds"] == 90.0
    assert "evaluator" not in given and given["study"] == {"id": 3, "name": "my pipeline"}


def test_the_result_file_takes_precedence_over_standard_output(tmp_path: Path) -> None:
    script = """
        import json, os
        print("not the result")
        with open(os.environ["HYTNAS_RESULT_FILE"], "w") as handle:
            json.dump({"objectives": [71.0, 3.5]}, handle)
    """
    outcome = run(tmp_path, script)
    assert outcome.result.ok and outcome.result.objectives == (71.0, 3.5)
    assert "--- result file ---" in outcome.log.read_text()


def test_progress_lines_may_come_before_the_result_on_the_last_line(tmp_path: Path) -> None:
    script = """
        import json
        for epoch in range(3):
            print(f"epoch {epoch}: loss {1 / (epoch + 1):.3f}")
        print(json.dumps({"objectives": {"accuracy": 80.0, "latency": 2.0}}))
        print()
    """
    outcome = run(tmp_path, script)
    assert outcome.result.ok and outcome.result.objectives == (80.0, 2.0)


def test_a_crash_is_a_failure_showing_the_end_of_standard_error(tmp_path: Path) -> None:
    script = """
        import sys
        print("x" * 5000 + "\\nTraceback: CUDA out of memory", file=sys.stderr)
        sys.exit(3)
    """
    outcome = run(tmp_path, script)
    error = outcome.result.error or ""
    assert not outcome.result.ok and error.startswith("the command exited with status 3")
    assert "CUDA out of memory" in error and "x" * STDERR_TAIL_CHARS not in error
    assert str(outcome.log) in error
    assert "x" * 5000 in outcome.log.read_text()  # the log keeps all of it


def test_a_command_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    script = """
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    """
    error = run(tmp_path, script).result.error or ""
    assert error.startswith("the command was killed by SIGKILL") and "standard error is empty" in error


def test_a_command_past_the_time_limit_is_stopped_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_module, "KILL_GRACE_SECONDS", 1.0)
    pids = tmp_path / "pids"
    script = f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL stops it
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        with open({str(pids)!r}, "w") as handle:
            handle.write(f"{{child.pid}} {{__import__('os').getpid()}}")
        print("started", file=sys.stderr, flush=True)
        time.sleep(600)
    """
    outcome = run(tmp_path, script, time_limit=10.0)  # room for a slow start on a loaded machine
    error = outcome.result.error or ""
    assert error.startswith("the command ran past the time limit of 10 s and was stopped"), error
    assert "started" in error
    assert pids.exists(), "the command had not started within its time limit"
    deadline = time.monotonic() + 30
    for pid in map(int, pids.read_text().split()):
        while not process_is_gone(pid):
            assert time.monotonic() < deadline, f"process {pid} still runs after the time-out"
            time.sleep(0.1)
    assert "ended: stopped" in outcome.log.read_text()


def test_the_workers_time_limit_overrides_the_studys() -> None:
    here = Path.cwd()
    study_limit = claimed(time_limit_seconds=600.0)
    assert time_limit_of(study_limit, CommandSettings(("true",), here, here)) == 600.0
    assert time_limit_of(study_limit, CommandSettings(("true",), here, here, 30.0)) == 30.0
    assert time_limit_of(claimed(), CommandSettings(("true",), here, here)) is None


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("pass", "printed nothing on standard output and wrote no result file"),
        ("print('accuracy=71 latency=3')", "is not JSON"),
        ("print('[71, 3]')", "must be a JSON object, got a list"),
        ('print(\'{"objectives": {"accuracy": 71}}\')', "objectives.latency is missing"),
        ("import os; open(os.environ['HYTNAS_RESULT_FILE'], 'w').close()", "empty result file"),
    ],
)
def test_output_that_is_not_a_result_is_a_failure_saying_what_was_wrong(
    tmp_path: Path, script: str, words: str
) -> None:
    outcome = run(tmp_path, "import sys; print('some warning', file=sys.stderr)\n" + script)
    error = outcome.result.error or ""
    assert not outcome.result.ok and words in error, error
    assert (
        "some warning" in error and f"outcome: failed: {error.split(chr(10))[0]}" in outcome.log.read_text()
    )


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"objectives": {"accuracy": 71.0, "latency": 3.0, "loss": 0.2}}, "objectives.loss the study has no"),
        ({"objectives": {"accuracy": float("nan"), "latency": 3.0}}, "objectives.accuracy must be a finite"),
        ({"objectives": {"accuracy": "high", "latency": 3.0}}, "objectives.accuracy must be a number"),
        ({"objectives": [71.0]}, "the study has 2 objectives (accuracy, latency); got 1"),
        ({"objectives": [71.0, True]}, "objectives[1] must be a number, got a boolean"),
        ({"objectives": "71, 3"}, "objectives must be a JSON object"),
        ({"accuracy": 71.0, "latency": 3.0}, "accuracy unknown field"),
        ({}, "objectives is required"),
        ({"objectives": [71.0, 3.0], "metrics": {"energy_mj": 2.0}}, "metrics.energy_mj the study declares"),
        ({"objectives": [71.0, 3.0], "metrics": {"params": None}}, "metrics.params must be a number"),
        (
            {"objectives": [71.0, 3.0], "stage_latency": {"head": -1.0}},
            "stage_latency.head must be at least 0",
        ),
        ({"objectives": [71.0, 3.0], "stage_latency": [1.0]}, "stage_latency must be a JSON object"),
    ],
)
def test_an_incomplete_or_wrong_result_is_refused_naming_the_field(document: Any, words: str) -> None:
    with pytest.raises(BadResult) as refused:
        checked_result(document, item())
    assert words in str(refused.value)


def test_a_result_by_position_keeps_text_and_flags_among_metrics_when_any_name_is_allowed() -> None:
    any_metric = WorkItem.from_claim({**claimed(), "metrics": None}, LEASE)
    objectives, stages, metrics = checked_result(
        {"objectives": [71, 3.5], "metrics": {"params": 12, "note": "warm", "pruned": False}}, any_metric
    )
    assert objectives == (71.0, 3.5) and stages is None
    assert metrics == {"params": 12.0, "note": "warm", "pruned": False}


def test_a_program_that_cannot_start_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    settings = CommandSettings((str(tmp_path / "missing"),), tmp_path, tmp_path / "logs")
    outcome = evaluate_with_command(claimed(), LEASE, settings)
    assert not outcome.result.ok and "could not start the command" in (outcome.result.error or "")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--command", "no-such-program-here --fast"], "'no-such-program-here' is not a program"),
        (["--command", "python 'unclosed"], "No closing quotation"),
        (["--command", "  "], "--command is empty"),
        (["--time-limit", "60"], "--time-limit only apply with --command"),
        (["--command", "true", "--workdir", "/no/such/folder"], "is not a folder"),
        (["--command", "true", "--time-limit", "0"], "positive number of seconds"),
    ],
)
def test_bad_command_options_are_refused_before_any_work_is_claimed(
    options: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port_nothing_listens_on = "http://127.0.0.1:9"
    assert main(["--server", port_nothing_listens_on, "--token", "hyt_x", *options]) == 2
    assert words in capsys.readouterr().err


def test_the_environment_is_the_workers_without_its_token_plus_the_hytnas_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_DATASET", "/data/imagenet")
    monkeypatch.setenv("HYTNAS_WORKER_TOKEN", "hyt_secret")
    script = """
        import json, os
        assert os.environ["MY_DATASET"] == "/data/imagenet" and os.getcwd() == os.environ["EXPECTED_CWD"]
        assert "HYTNAS_WORKER_TOKEN" not in os.environ
        print(json.dumps({"objectives": [1.0, 2.0]}))
    """
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.setenv("EXPECTED_CWD", str(workdir.resolve()))
    settings = settings_for(tmp_path, script)
    settings = CommandSettings(settings.argv, workdir.resolve(), settings.log_dir)
    outcome = evaluate_with_command(claimed(), LEASE, settings)
    assert outcome.result.ok, outcome.result.error
    assert os.environ.get("HYTNAS_ARCHITECTURE_FILE") is None  # only the command's environment has it
