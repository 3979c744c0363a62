"""End to end: studies keeping N architectures in flight, measured by real workers finishing in random order.

A real web server process and a real RQ worker process; the architectures are measured by four
threads of the Python client (each sleeping a random time per architecture), by evaluation worker
processes (``remote``), or by evaluation jobs on the evaluations queue (``torch``). Each study must
end completed with exactly its budget of distinct architectures and never more than N in flight,
read from the data: every proposal's figures and a poll of the pending evaluations meanwhile.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from search_engine.client import optimize
from tests.web import test_remote_worker
from tests.web.external_studies import custom_space, make_external_study
from tests.web.hardware_studies import make_hardware_study
from tests.web.test_jobs import wait_for

web_server = test_remote_worker.web_server  # the fixture: a real gunicorn process on the test database

IN_FLIGHT = 4


@contextmanager
def largest_in_flight(study: Study) -> Iterator[list[int]]:
    """Poll the study's pending evaluations while the block runs; yields ``[the largest count seen]``."""
    seen = [0]
    stop = threading.Event()

    def poll() -> None:
        try:
            while not stop.is_set():
                pending = Evaluation.objects.filter(study=study, status=Evaluation.Status.PENDING).count()
                seen[0] = max(seen[0], pending)
                time.sleep(0.05)
        finally:
            connection.close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield seen
    finally:
        stop.set()
        poller.join(10)


def assert_kept_in_flight(study: Study, budget: int, in_flight: int, most_seen: int) -> None:
    """Completed, exactly ``budget`` distinct architectures, never more than ``in_flight`` out at once."""
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED, study.error
    evaluations = list(study.evaluations.all())
    assert len(evaluations) == budget
    assert len({e.key for e in evaluations}) == budget
    assert all(e.status == Evaluation.Status.DONE for e in evaluations)
    assert 0 < most_seen <= in_flight
    proposals = list(study.iterations.order_by("index"))
    assert proposals[0].diagnostics["proposed"] <= in_flight  # the initial design
    for proposal in proposals[1:]:
        figures = proposal.diagnostics
        assert figures["in_flight_before"] + figures["proposed"] <= in_flight, (proposal.index, figures)
    assert sum(p.diagnostics["proposed"] for p in proposals) == budget


@pytest.mark.django_db(transaction=True)
def test_four_client_threads_finishing_in_random_order_measure_exactly_the_budget(
    alice: Any, start_worker: Callable[..., Any], web_server: str
) -> None:
    budget = 20
    study = make_external_study(
        alice, space=custom_space(), n_init=IN_FLIGHT, budget=budget, in_flight=IN_FLIGHT
    )
    secret = services.issue_token(alice, "four GPUs", study).secret
    services.start_study(study)
    start_worker(queues=("iterations",))
    durations = random.Random(11)
    lock = threading.Lock()

    def evaluate(architecture: dict[str, Any]) -> dict[str, Any]:
        with lock:
            seconds = durations.uniform(0.05, 0.8)  # fast and slow architectures, finishing out of order
        time.sleep(seconds)
        cost = architecture["layers"] * architecture["width"]
        return {"accuracy": 50.0 + cost / 20.0, "latency": cost / 10.0}

    with largest_in_flight(study) as seen:
        summary = optimize(evaluate, url=web_server, token=secret, workers=4, poll_seconds=0.1)
    assert (summary.done, summary.failed) == (budget, 0)
    assert_kept_in_flight(study, budget, IN_FLIGHT, seen[0])


@pytest.mark.django_db(transaction=True)
def test_remote_evaluation_workers_keep_a_study_in_flight_to_its_budget(
    alice: Any, start_worker: Callable[..., Any], web_server: str, tmp_path: Path
) -> None:
    budget, in_flight = 6, 2
    study = make_hardware_study(alice, "remote", n_init=2, budget=budget, in_flight=in_flight)
    secret = services.issue_token(alice, "two boards", study).secret
    services.start_study(study)
    start_worker(queues=("iterations",))
    workers = [
        test_remote_worker.run_worker(web_server, secret, tmp_path / f"spool-{i}", "--name", f"board-{i}")
        for i in range(2)
    ]
    try:
        with largest_in_flight(study) as seen:
            wait_for(
                lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED,
                300,
                "the remote study to complete",
            )
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert_kept_in_flight(study, budget, in_flight, seen[0])
    assert {e.device["name"] for e in study.evaluations.all()} <= {"board-0", "board-1"}


@pytest.mark.django_db(transaction=True)
def test_evaluation_jobs_on_the_queue_keep_a_torch_study_in_flight_to_its_budget(
    alice: Any, start_worker: Callable[..., Any]
) -> None:
    budget, in_flight = 5, 2
    study = make_hardware_study(alice, "torch", n_init=2, budget=budget, in_flight=in_flight)
    services.start_study(study)
    start_worker(queues=("iterations",))
    start_worker(queues=("evaluations",))
    start_worker(queues=("evaluations",))
    with largest_in_flight(study) as seen:
        wait_for(
            lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED,
            300,
            "the torch study to complete",
        )
    assert_kept_in_flight(study, budget, in_flight, seen[0])
    assert all(e.job_id for e in study.evaluations.all())
