"""End to end: the command worker (``python -m search_engine.worker --command``) against a real web server.

The README's example script and worker command line run as written and finish a study; a command
that crashes, hangs past the study's time limit, prints garbage, nothing or an incomplete result
gives a failed evaluation saying so while the study carries on; a stop lets the command in hand
finish, and a second stop ends it without losing anything already measured.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from tests.web import test_remote_worker
from tests.web.conftest import ROOT
from tests.web.external_studies import OBJECTIVES, custom_space, make_external_study
from tests.web.test_jobs import wait_for

web_server = test_remote_worker.web_server  # the fixture: a real gunicorn process on the test database
run_worker = test_remote_worker.run_worker

README_SERVER = "http://127.0.0.1:8000"


def readme_command_example() -> tuple[str, str]:
    """README.md's command worker example: the evaluation script and the worker's command line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A command for each architecture", 1)[1].split("\n## ", 1)[0]
    script = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    command_line = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert script is not None and command_line is not None, "the subsection lacks its example"
    return script.group(1), command_line.group(1).replace("\\\n", " ").strip()


def python_on_path(folder: Path) -> str:
    """``folder`` prepended to PATH, holding a ``python`` that runs this test's interpreter and packages."""
    folder.mkdir()
    launcher = folder / "python"
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def evaluations_of(study: Study) -> list[Evaluation]:
    return list(Evaluation.objects.filter(study=study).order_by("id"))


def completed(study: Study) -> Callable[[], bool]:
    return lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED


def finish(worker: subprocess.Popen[str]) -> tuple[int, str]:
    """The worker's exit status (waiting a minute for it) and everything it logged."""
    try:
        status = worker.wait(60)
    finally:
        if worker.poll() is None:
            worker.kill()
    return status, worker.stderr.read() if worker.stderr else ""


def stop(worker: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM the worker, then :func:`finish`."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    return finish(worker)


def process_is_gone(pid: int) -> bool:
    """No such process, or only its zombie (it has exited; its parent has not collected it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.django_db(transaction=True)
def test_the_readme_command_example_measures_a_whole_study(
    alice: Any, start_worker: Callable[..., Any], web_server: str, tmp_path: Path
) -> None:
    study = make_external_study(alice, metrics=["params"], budget=5)
    services.start_study(study)
    issued = services.issue_token(alice, "lab machine", study)
    start_worker(queues=("iterations",))
    script, command_line = readme_command_example()
    (tmp_path / "my_eval.py").write_text(script, encoding="utf-8")
    words = shlex.split(command_line.replace(README_SERVER, web_server))
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(PATH=python_on_path(tmp_path / "bin"), PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    while "=" in words[0]:  # the line's leading NAME=value assignments
        name, value = words.pop(0).split("=", 1)
        env[name] = issued.secret if value == "hyt_..." else value
    worker = subprocess.Popen(words, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(completed(study), 240, "the study to complete")
    finally:
        status, log = stop(worker)
    assert status == 0, log
    evaluations = evaluations_of(study)
    assert len(evaluations) == 5, log
    logs = tmp_path / ".cache" / "hytnas-worker" / "logs" / f"study-{study.pk}"
    for evaluation in evaluations:
        assert evaluation.status == Evaluation.Status.DONE, evaluation.error
        assert 60.0 <= evaluation.objectives[0] <= 85.0 and evaluation.objectives[1] > 0
        assert evaluation.metrics["params"] > 0
        output = logs / f"evaluation-{evaluation.pk}.log"
        assert f"evaluation {evaluation.pk}: " in output.read_text(encoding="utf-8")  # its stderr
        assert str(output) in log  # the worker's log line names the file


MISBEHAVING = """
    import json, os, sys, time

    item = json.load(sys.stdin)
    calls = sorted(os.listdir("calls")) if os.path.isdir("calls") else []
    call = len(calls) + 1
    behaviour = {4: "crash", 5: "hang", 6: "garbage", 7: "nothing", 8: "incomplete"}.get(call, "good")
    os.makedirs("calls", exist_ok=True)
    with open(os.path.join("calls", f"{call:03d}.json"), "w") as handle:
        json.dump({"id": item["id"], "behaviour": behaviour, "pid": os.getpid()}, handle)
    print(f"call {call}: evaluation {item['id']} will be {behaviour}", file=sys.stderr, flush=True)
    cost = item["architecture"]["layers"] * item["architecture"]["width"]
    if behaviour == "crash":
        sys.exit("Traceback (most recent call last):\\nRuntimeError: CUDA out of memory")
    if behaviour == "hang":
        time.sleep(600)
    if behaviour == "garbage":
        print("accuracy is about 71 %")
    if behaviour == "incomplete":
        print(json.dumps({"objectives": {"accuracy": 71.0}}))
    if behaviour == "good":
        print(json.dumps({"objectives": {"accuracy": 50.0 + cost / 20, "latency": cost / 10},
                          "metrics": {"params": cost}}))
"""

FAILURE_WORDS = {
    "crash": "the command exited with status 1",
    "hang": "the command ran past the time limit of 15 s and was stopped",
    "garbage": "the result on standard output is not JSON",
    "nothing": "the command printed nothing on standard output",
    "incomplete": "bad result: objectives.latency is missing",
}


@pytest.mark.django_db(transaction=True)
def test_commands_that_crash_hang_or_print_no_result_fail_saying_why_and_the_study_carries_on(
    alice: Any, start_worker: Callable[..., Any], web_server: str, tmp_path: Path
) -> None:
    evaluator = {
        "name": "external",
        "params": {"objectives": OBJECTIVES, "metrics": ["params"], "time_limit_seconds": 15},
    }
    study = make_external_study(alice, space=custom_space(), evaluator=evaluator, budget=9)
    services.start_study(study)
    secret = services.issue_token(alice, "cluster node", study).secret
    start_worker(queues=("iterations",))
    script, workdir, logs = tmp_path / "my_eval.py", tmp_path / "work", tmp_path / "logs"
    script.write_text(textwrap.dedent(MISBEHAVING), encoding="utf-8")
    workdir.mkdir()
    command = shlex.join([sys.executable, str(script)])
    options = ["--command", command, "--workdir", str(workdir), "--logs", str(logs)]
    worker = run_worker(web_server, secret, tmp_path / "spool", *options)
    try:
        wait_for(completed(study), 300, "the study to complete")
    finally:
        status, log = stop(worker)
    assert status == 0, log
    calls = [json.loads(path.read_text()) for path in sorted((workdir / "calls").iterdir())]
    assert len(calls) == 9, log
    behaviour = {call["id"]: call["behaviour"] for call in calls}
    evaluations = evaluations_of(study)
    assert {e.pk for e in evaluations} == set(behaviour)
    for number, evaluation in enumerate(evaluations, start=1):
        output = logs / f"study-{study.pk}" / f"evaluation-{evaluation.pk}.log"
        kind = behaviour[evaluation.pk]
        assert f"evaluation {evaluation.pk} will be {kind}" in output.read_text(encoding="utf-8")
        if kind == "good":
            cost = evaluation.architecture["layers"] * evaluation.architecture["width"]
            assert evaluation.status == Evaluation.Status.DONE, evaluation.error
            assert evaluation.objectives == pytest.approx([50.0 + cost / 20, cost / 10])
            assert evaluation.metrics == {"params": cost}
            continue
        error = evaluation.error or ""
        assert evaluation.status == Evaluation.Status.FAILED and error.startswith(FAILURE_WORDS[kind]), error
        assert f"evaluation {evaluation.pk} will be {kind}" in error  # the tail of its standard error
        assert f"(full output: {output})" in error
        assert number > 3, "the initial design's first architectures were measured"
    assert "CUDA out of memory" in next(e.error or "" for e in evaluations if behaviour[e.pk] == "crash")
    hung = next(call["pid"] for call in calls if call["behaviour"] == "hang")
    assert process_is_gone(hung)
    assert sorted(behaviour.values()).count("good") == 4
    assert not list((tmp_path / "spool").glob("*.json"))  # every report was delivered


SLOW = """
    import json, os, sys, time

    item = json.load(sys.stdin)
    with open(f"started-{item['id']}", "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(float(os.environ["MEASURE_SECONDS"]))
    print(json.dumps({"objectives": [75.0, 2.5]}))
"""


def started_command(workdir: Path) -> tuple[int, int]:
    """(evaluation id, command pid) of the command that has started, once one has."""
    wait_for(lambda: any(workdir.glob("started-*")), 60, "the command to start")
    (marker,) = workdir.glob("started-*")
    wait_for(lambda: marker.read_text() != "", 10, "the command to write its pid")
    return int(marker.name.removeprefix("started-")), int(marker.read_text())


@pytest.mark.django_db(transaction=True)
def test_a_stop_lets_the_command_finish_and_a_second_one_ends_it_losing_nothing_measured(
    alice: Any, web_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = make_external_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")  # three pending architectures
    secret = services.issue_token(alice, "lab machine", study).secret
    script, workdir = tmp_path / "my_eval.py", tmp_path / "work"
    script.write_text(textwrap.dedent(SLOW), encoding="utf-8")
    workdir.mkdir()
    options = ["--command", shlex.join([sys.executable, str(script)]), "--workdir", str(workdir)]
    options += ["--logs", str(tmp_path / "logs")]

    monkeypatch.setenv("MEASURE_SECONDS", "3")
    worker = run_worker(web_server, secret, tmp_path / "spool", *options)
    finished, _ = started_command(workdir)
    worker.send_signal(signal.SIGTERM)  # once: the command in hand finishes and is reported
    status, log = finish(worker)
    assert status == 0, log
    assert Evaluation.objects.get(pk=finished).status == Evaluation.Status.DONE, log
    assert Evaluation.objects.get(pk=finished).objectives == [75.0, 2.5]
    assert Evaluation.objects.filter(study=study, status=Evaluation.Status.PENDING).count() == 2

    monkeypatch.setenv("MEASURE_SECONDS", "600")
    (workdir / f"started-{finished}").unlink()
    worker = run_worker(web_server, secret, tmp_path / "spool", *options)
    interrupted, pid = started_command(workdir)
    worker.send_signal(signal.SIGINT)
    time.sleep(1.0)  # two signals sent at once may arrive as one
    worker.send_signal(signal.SIGINT)  # twice: the command is stopped, the worker exits
    status, log = finish(worker)
    assert status == 130, log
    wait_for(lambda: process_is_gone(pid), 30, "the interrupted command to end")
    assert Evaluation.objects.get(pk=interrupted).status == Evaluation.Status.PENDING  # offered again later
    assert Evaluation.objects.get(pk=finished).status == Evaluation.Status.DONE  # nothing measured is lost
    output = tmp_path / "logs" / f"study-{study.pk}" / f"evaluation-{interrupted}.log"
    assert "the worker was interrupted" in output.read_text(encoding="utf-8")
