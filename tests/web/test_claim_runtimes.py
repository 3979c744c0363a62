"""A worker claims only the work it can measure: the runtimes it has travel with its claim.

A board without onnxruntime must not take a study measured in ONNX Runtime and fail every
evaluation: the work stays pending for a worker that has the runtime, and the board is told why.
The API's side goes through Django's test client; the worker's through a real gunicorn process and
a real ``python -m search_engine.worker`` process on which onnxruntime cannot be imported.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hytnas_web.lib.embedded_redis import port_is_open
from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from tests.web.conftest import ROOT, database_env
from tests.web.hardware_studies import FAST_TORCH
from tests.web.test_jobs import wait_for
from tests.web.test_worker_api import Worker, running_remote_study

PORTS = range(18700, 18800)
"""Where this module's web server listens (the first free one)."""


def onnx_study(owner: Any) -> Study:
    """A running remote study that leaves the runtime unset: the default, ONNX Runtime."""
    return running_remote_study(owner, name="Pi in ONNX Runtime")


def eager_study(owner: Any) -> Study:
    """A running remote study measured in eager PyTorch."""
    evaluator = {"name": "remote", "params": {**FAST_TORCH, "runtime": "eager"}}
    return running_remote_study(owner, name="Pi in eager PyTorch", evaluator=evaluator)


def untouched(study: Study) -> bool:
    """Every evaluation of ``study`` is pending and was never handed to a worker."""
    evaluations = list(study.evaluations.all())
    return bool(evaluations) and all(
        e.status == Evaluation.Status.PENDING and e.lease_id is None and e.attempts == 0 for e in evaluations
    )


@pytest.mark.django_db
def test_an_eager_only_worker_gets_eager_work_and_is_told_why_onnx_work_stays(alice: Any) -> None:
    onnx, eager = onnx_study(alice), eager_study(alice)
    worker = Worker(services.issue_token(alice, "pi without onnxruntime").secret)

    body = worker.claim(n=10, runtimes=["eager"]).json()

    assert {item["study"]["id"] for item in body["evaluations"]} == {eager.pk}
    assert len(body["evaluations"]) == 3
    assert body["studies_running"] == 1
    [refused] = body["refused"]
    assert refused["study"] == {"id": onnx.pk, "name": "Pi in ONNX Runtime"}
    assert refused["runtime"] == "onnxruntime"
    assert refused["message"].startswith(
        f"study {onnx.pk} 'Pi in ONNX Runtime' measures latency in ONNX Runtime, "
        "which this worker does not have: pip install onnxruntime"
    )
    assert "onnx" in refused["message"].split("pip install ", 1)[1].split()[1]
    assert refused["message"].endswith("(or set the study's runtime to eager)")
    assert untouched(onnx)


@pytest.mark.django_db
def test_an_eager_only_worker_limited_to_an_onnx_study_gets_nothing_and_the_reason(alice: Any) -> None:
    onnx = onnx_study(alice)
    worker = Worker(services.issue_token(alice, "pi without onnxruntime", onnx).secret)

    body = worker.claim(n=3, runtimes=["eager"], study=onnx.pk).json()

    assert body["evaluations"] == [] and body["lease"] is None
    assert body["studies_running"] == 0
    assert [r["study"]["id"] for r in body["refused"]] == [onnx.pk]
    assert "which this worker does not have" in body["refused"][0]["message"]
    assert untouched(onnx)


@pytest.mark.django_db
def test_a_worker_with_onnx_runtime_or_an_older_worker_claims_from_both_studies(alice: Any) -> None:
    onnx, eager = onnx_study(alice), eager_study(alice)
    secret = services.issue_token(alice, "any board").secret

    with_both = Worker(secret).claim(n=3, runtimes=["eager", "onnxruntime"], study=onnx.pk).json()
    older = Worker(secret).claim(n=10).json()  # no runtimes: any, as before

    assert len(with_both["evaluations"]) == 3 and with_both["refused"] == []
    assert {item["study"]["id"] for item in older["evaluations"]} == {eager.pk}  # the rest of the work
    assert len(older["evaluations"]) == 3 and older["refused"] == []
    assert not onnx.evaluations.filter(lease__isnull=True).exists()


@pytest.mark.django_db
def test_runtimes_must_be_a_list_of_names(alice: Any) -> None:
    onnx_study(alice)
    worker = Worker(services.issue_token(alice, "pi").secret)

    response = worker.claim(runtimes="eager")

    assert response.status_code == 400
    assert response.json()["field"] == "runtimes"


# --- the worker process --------------------------------------------------------------------------


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture
def logged_web_server(rq_queues: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A gunicorn process serving the test database; yields its address and its access log."""
    port, access_log = _free_port(), tmp_path / "access.log"
    env = {
        **os.environ,
        **database_env(),
        "REDIS_URL": rq_queues,
        "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
    }
    command = [sys.executable, "-m", "gunicorn", "hytnas_web.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--threads", "2", "--access-logfile", str(access_log)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not port_is_open("127.0.0.1", port):
            assert process.poll() is None, "the web server exited"
            assert time.monotonic() < deadline, "the web server did not start within 30 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", access_log
    finally:
        process.terminate()
        process.wait(15)


def claims_served(access_log: Path) -> int:
    text = access_log.read_text(encoding="utf-8") if access_log.exists() else ""
    return text.count("POST /api/v1/claims")


@pytest.mark.django_db(transaction=True)
def test_a_worker_without_onnx_runtime_says_so_once_and_leaves_the_work_pending(
    alice: Any, logged_web_server: tuple[str, Path], tmp_path: Path
) -> None:
    server, access_log = logged_web_server
    study = onnx_study(alice)
    issued = services.issue_token(alice, "pi without onnxruntime", study)
    missing = tmp_path / "no-onnxruntime" / "onnxruntime"
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text(
        'raise ImportError("no onnxruntime on this board")\n', encoding="utf-8"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(missing.parent)
    command = [sys.executable, "-m", "search_engine.worker", "--server", server, "--token", issued.secret]
    command += ["--spool", str(tmp_path / "spool"), "--poll", "0.3"]
    log_path = tmp_path / "worker.log"
    with log_path.open("w", encoding="utf-8") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
        try:
            wait_for(lambda: claims_served(access_log) >= 4, 120, "the worker to claim four times")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
    text = log_path.read_text(encoding="utf-8")
    assert "ONNX Runtime is not available here" in text, text
    told = f"not claimed: study {study.pk} 'Pi in ONNX Runtime' measures latency in ONNX Runtime"
    assert text.count(told) == 1, text  # once, not at every one of the four claims
    assert "(or set the study's runtime to eager)" in text
    assert untouched(Study.objects.get(pk=study.pk))
