"""End to end: a real web server process and a real evaluation worker process finish a remote study.

The worker (``python -m search_engine.worker``) reaches only the web server, over HTTP, as a board
on a lab bench would; an RQ worker proposes the iterations; the torch networks are built at 32 px so
the whole study takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hytnas_web.lib.embedded_redis import free_port, port_is_open
from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.conftest import ROOT, database_env
from tests.web.hardware_studies import make_hardware_study
from tests.web.test_jobs import wait_for


@pytest.fixture
def web_server(rq_queues: str) -> Iterator[str]:
    """A gunicorn process serving the app on the test database and Redis; yields its address."""
    port = free_port()
    env = {
        **os.environ,
        **database_env(),
        "REDIS_URL": rq_queues,
        "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "hytnas_web.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not port_is_open("127.0.0.1", port):
            assert process.poll() is None, "the web server exited"
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def run_worker(server: str, token: str, spool: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "search_engine.worker", "--server", server, "--token", token]
    command += ["--spool", str(spool), "--poll", "0.5", *extra]
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_another_machine_measures_a_whole_remote_study(
    alice: Any, start_worker: Callable[..., Any], web_server: str, tmp_path: Path
) -> None:
    study = make_hardware_study(alice, "remote")
    issued = services.issue_token(alice, "bench board", study)
    services.start_study(study)
    start_worker(queues=("iterations",))
    worker = run_worker(
        web_server, issued.secret, tmp_path / "spool", "--name", "bench-board", "--max-evaluations", "5"
    )
    try:
        wait_for(
            lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED,
            180,
            "the study to complete",
        )
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        log = worker.stderr.read() if worker.stderr else ""
    evaluations = list(Evaluation.objects.filter(study=study).order_by("id"))
    assert len(evaluations) == 5, log
    assert all(e.status == Evaluation.Status.DONE for e in evaluations), log
    for evaluation in evaluations:
        assert evaluation.device["name"] == "bench-board"
        assert evaluation.device["cpu_count"] >= 1
        assert evaluation.stage_latency["backbone"] > 0
        assert evaluation.objectives[1] == pytest.approx(evaluation.metrics["latency_ms"])
        assert evaluation.metrics["params_total"] > 0
        assert evaluation.lease is not None and evaluation.lease.token_id == issued.token.pk
    assert [it.status for it in study.iterations.order_by("index")] == [Iteration.Status.DONE] * 2
    assert not list((tmp_path / "spool").rglob("*.json"))  # every report was delivered


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_a_revoked_token_stops_and_says_why(
    alice: Any, web_server: str, tmp_path: Path
) -> None:
    issued = services.issue_token(alice, "lost board")
    services.revoke_token(issued.token)
    worker = run_worker(web_server, issued.secret, tmp_path / "spool", "--exit-when-idle")
    assert worker.wait(60) == 2
    assert "token refused" in (worker.stderr.read() if worker.stderr else "")
