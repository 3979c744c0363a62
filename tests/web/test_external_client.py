"""End to end: the Python client (``search_engine.client``) against a real web server process.

The README's "Bring your own evaluation" script runs as written; ``optimize`` finishes a study on a
user-defined space; the client's refusals carry the server's words and write nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from search_engine.client import ApiError, ResultError, Studio, connect, optimize
from tests.web import test_remote_worker
from tests.web.conftest import ROOT
from tests.web.external_studies import CUSTOM_VARIABLES, custom_space, make_external_study
from tests.web.test_jobs import wait_for

BUDGET = 5

web_server = test_remote_worker.web_server  # the fixture: a real gunicorn process on the test database


def readme_example() -> str:
    """The first Python block of README.md's "Bring your own evaluation" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring your own evaluation", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no Python example"
    return match.group(1)


def started(study: Study) -> Study:
    services.start_study(study)
    return study


def measured(study: Study) -> list[Evaluation]:
    return list(Evaluation.objects.filter(study=study).order_by("id"))


@pytest.mark.django_db(transaction=True)
def test_the_readme_example_measures_a_whole_study_within_its_budget(
    alice: Any,
    start_worker: Callable[..., Any],
    web_server: str,
    tmp_path: Path,
) -> None:
    study = started(make_external_study(alice, metrics=["params"], budget=BUDGET))
    issued = services.issue_token(alice, "my laptop", study)
    start_worker(queues=("iterations",))
    script = tmp_path / "measure.py"
    script.write_text(readme_example(), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(HYTNAS_URL=web_server, HYTNAS_TOKEN=issued.secret, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert f"{BUDGET} measured, 0 failed" in run.stdout
    assert Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED
    evaluations = measured(study)
    assert len(evaluations) == BUDGET
    for evaluation in evaluations:
        assert evaluation.status == Evaluation.Status.DONE
        assert 60.0 <= evaluation.objectives[0] <= 85.0 and evaluation.objectives[1] > 0
        assert evaluation.metrics["params"] > 0
        assert evaluation.lease is not None and evaluation.lease.token_id == issued.token.pk


@pytest.mark.django_db(transaction=True)
def test_optimize_finishes_a_custom_space_study_and_records_a_raised_error_as_a_failure(
    alice: Any,
    start_worker: Callable[..., Any],
    web_server: str,
) -> None:
    study = started(make_external_study(alice, space=custom_space(), budget=BUDGET))
    secret = services.issue_token(alice, "cluster", study).secret
    start_worker(queues=("iterations",))
    names = {v["name"] for v in CUSTOM_VARIABLES}
    calls: list[dict[str, Any]] = []
    lock = threading.Lock()

    def evaluate(architecture: dict[str, Any]) -> dict[str, Any]:
        assert set(architecture) == names
        with lock:
            calls.append(architecture)
            first = len(calls) == 1
        if first:
            raise RuntimeError("CUDA out of memory")
        cost = architecture["layers"] * architecture["width"]
        return {"accuracy": 50.0 + cost / 20.0, "latency": cost / 10.0}

    summary = optimize(evaluate, url=web_server, token=secret, workers=3, poll_seconds=0.2)
    evaluations = measured(study)
    assert len(evaluations) == BUDGET == summary.done + summary.failed == len(calls)
    assert Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED
    failed = [e for e in evaluations if e.status == Evaluation.Status.FAILED]
    assert len(failed) == 1 == summary.failed
    assert failed[0].error == "RuntimeError: CUDA out of memory"


@pytest.mark.django_db(transaction=True)
def test_the_client_raises_the_servers_refusal_naming_the_field_and_nothing_is_written(
    alice: Any,
    web_server: str,
) -> None:
    study = make_external_study(alice, metrics=["params"])
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")
    studio = connect(web_server, services.issue_token(alice, "notebook", study).secret)
    with studio:
        (item,) = studio.ask()
        assert [o.name for o in item.objectives] == ["accuracy", "latency"]
        assert item.x.shape == (len(item.architecture),) and item.metrics == ("params",)
        refusals: list[tuple[dict[str, Any], str, str]] = [
            ({"objectives": {"accuracy": 70.0}}, "objectives.latency", "required"),
            (
                {"objectives": {"accuracy": 70.0, "latency": 1.0, "loss": 2.0}},
                "objectives.loss",
                "no objective",
            ),
            ({"objectives": {"accuracy": "high", "latency": 1.0}}, "objectives.accuracy", "number"),
            ({"objectives": [70.0, 1.0], "metrics": {"energy_mj": 3.0}}, "metrics.energy_mj", "no metric"),
        ]
        for result, field, words in refusals:
            with pytest.raises(ApiError) as refused:
                studio.tell(item, **result)
            assert refused.value.status == 400 and refused.value.field == field
            assert words in refused.value.message and field in str(refused.value)
        with pytest.raises(ResultError) as not_finite:
            studio.tell(item, objectives={"accuracy": float("nan"), "latency": 1.0})
        assert not_finite.value.field == "objectives.accuracy"
        assert Evaluation.objects.get(pk=item.id).status == Evaluation.Status.PENDING

        other = make_external_study(alice, name="Someone else's")
        stranger = Studio(web_server, services.issue_token(alice, "other", other).secret)
        with pytest.raises(ApiError) as foreign:
            stranger.tell(item, objectives={"accuracy": 70.0, "latency": 1.0})
        assert foreign.value.status == 403 and "does not give access" in foreign.value.message
        assert Evaluation.objects.get(pk=item.id).status == Evaluation.Status.PENDING

        assert studio.tell(item, objectives={"accuracy": 70.0, "latency": 1.0}, metrics={"params": 5})
        assert studio.tell(item, objectives={"accuracy": 1.0, "latency": 99.0}) is False  # harmless
        evaluation = Evaluation.objects.get(pk=item.id)
        assert evaluation.objectives == [70.0, 1.0] and evaluation.metrics == {"params": 5}


@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_cannot_connect(alice: Any, web_server: str) -> None:
    issued = services.issue_token(alice, "lost laptop")
    services.revoke_token(issued.token)
    with pytest.raises(ApiError) as refused:
        connect(web_server, issued.secret)
    assert refused.value.status == 401


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_extended_while_the_users_code_runs(alice: Any, web_server: str) -> None:
    study = make_external_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")
    studio = Studio(web_server, services.issue_token(alice, "slow trainer", study).secret, lease_seconds=30)
    with studio:
        (item,) = studio.ask()
        first = Evaluation.objects.get(pk=item.id).lease_expires_at
        assert first is not None
        wait_for(lambda: Evaluation.objects.get(pk=item.id).lease_expires_at != first, 30, "an extension")
        assert Evaluation.objects.get(pk=item.id).lease_expires_at > first


def measured_in_a_process(architecture: dict[str, Any]) -> dict[str, Any]:
    """An evaluation importable by a process pool: records which process ran it."""
    cost = architecture["layers"] * architecture["width"]
    return {"accuracy": 50.0 + cost / 20.0, "latency": cost / 10.0, "metrics": {"pid": os.getpid()}}


@pytest.mark.django_db(transaction=True)
def test_optimize_with_processes_runs_the_evaluation_outside_this_process(
    alice: Any, start_worker: Callable[..., Any], web_server: str
) -> None:
    study = started(make_external_study(alice, space=custom_space(), metrics=["pid"], budget=BUDGET))
    secret = services.issue_token(alice, "cluster", study).secret
    start_worker(queues=("iterations",))
    summary = optimize(measured_in_a_process, url=web_server, token=secret, workers=2, processes=True)
    evaluations = measured(study)
    assert (summary.done, summary.failed, len(evaluations)) == (BUDGET, 0, BUDGET)
    assert all(e.status == Evaluation.Status.DONE for e in evaluations)
    assert os.getpid() not in {e.metrics["pid"] for e in evaluations}
