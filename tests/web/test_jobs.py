"""Iteration jobs: idempotent, crash-safe, and driven to completion by real RQ workers."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.management import call_command

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.stored_config import store_config


def drive_in_process(study: Study, limit: int = 20) -> None:
    """Run the study's iterations in this process, in order, as a worker would."""
    for _ in range(limit):
        study.refresh_from_db()
        current = study.iterations.order_by("-index").first()
        if study.status != Study.Status.RUNNING or current is None:
            return
        services.run_iteration(study.pk, current.index, job_id="in-process")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_a_study_runs_to_its_budget_with_hypervolume_per_iteration(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    drive_in_process(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    assert study.evaluations.count() == 30 == study.evaluations.filter(status=Evaluation.Status.DONE).count()
    iterations = list(study.iterations.order_by("index"))
    assert [it.n_evaluations for it in iterations] == [10, 20, 30]
    assert all(it.status == Iteration.Status.DONE and it.hypervolume is not None for it in iterations)
    assert iterations[-1].hypervolume >= iterations[0].hypervolume
    assert set(iterations[1].timings) >= {"fit", "solve", "select", "evaluate"}
    assert iterations[1].fidelity and iterations[1].fidelity[0]["objective"] == "f1"
    optimizer_rows = study.evaluations.filter(source=Evaluation.Source.OPTIMIZER)
    assert all(e.predicted_mean is not None for e in optimizer_rows)


@pytest.mark.django_db(transaction=True)
def test_running_the_same_iteration_job_twice_duplicates_nothing(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="first")
    before = list(study.evaluations.order_by("id").values_list("key", "objectives"))
    assert "already done" in services.run_iteration(study.pk, 0, job_id="second")
    services.run_iteration(study.pk, 1, job_id="a")
    services.run_iteration(study.pk, 1, job_id="b")
    assert (
        list(study.evaluations.filter(iteration__index=0).order_by("id").values_list("key", "objectives"))
        == before
    )
    assert study.evaluations.count() == 20
    assert study.iterations.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_paused_iteration_resumes_with_its_stored_proposal(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    """Pause mid-iteration, resume: what was measured before the pause is kept and not redone."""
    slow = {"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": 0.2}}
    study = make_study(alice, evaluator=slow)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j0")
    outcome: list[str] = []
    job = threading.Thread(target=lambda: outcome.append(services.run_iteration(study.pk, 1, job_id="j1")))
    job.start()
    wait_for(
        lambda: study.evaluations.filter(iteration__index=1, status=Evaluation.Status.DONE).count() >= 3,
        30,
        "part of iteration 1 to be measured",
    )
    services.pause_study(study)
    job.join(30)
    assert outcome == ["stopped: study is paused"]
    done_before = dict(
        study.evaluations.filter(status=Evaluation.Status.DONE).values_list("key", "finished_at")
    )
    assert 13 <= len(done_before) < 20 and study.evaluations.filter(status=Evaluation.Status.PENDING).exists()
    services.resume_study(study)
    drive_in_process(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED and study.evaluations.count() == 30
    done_after = dict(study.evaluations.values_list("key", "finished_at"))
    assert all(done_after[key] == finished for key, finished in done_before.items())


@pytest.mark.django_db(transaction=True)
def test_evaluator_failure_to_build_fails_the_study_with_a_reason(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice)
    store_config(study, evaluator={"name": "table", "params": {"tables": []}})
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j")
    study.refresh_from_db()
    assert study.status == Study.Status.FAILED
    assert "tables" in study.error
    assert study.iterations.get(index=0).status == Iteration.Status.FAILED
    assert services.allowed_actions(study) == ["retry", "cancel"]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_study_to_completion(
    alice: Any, make_study: Any, start_worker: Callable[..., Any]
) -> None:
    study = make_study(alice)
    services.start_study(study)
    worker = start_worker()
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 90, "the study to complete"
    )
    assert Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count() == 30
    assert worker.poll() is None  # the worker keeps serving


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_iteration_loses_nothing_and_a_fresh_worker_finishes(
    alice: Any, make_study: Any, start_worker: Callable[..., Any], settings: Any
) -> None:
    settings.HEARTBEAT_STALE_SECONDS = 5
    study = make_study(
        alice, evaluator={"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": 0.3}}
    )
    services.start_study(study)
    worker = start_worker(env={"HYTNAS_HEARTBEAT_STALE_SECONDS": "5"})
    wait_for(
        lambda: Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count() >= 14,
        90,
        "some of iteration 1 to be measured",
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    measured_before = {
        key: tuple(objectives)
        for key, objectives in Evaluation.objects.filter(
            study=study, status=Evaluation.Status.DONE
        ).values_list("key", "objectives")
    }
    assert Iteration.objects.get(study=study, index=1).status == Iteration.Status.RUNNING
    time.sleep(5.5)  # the dead job's heartbeat goes stale
    start_worker(env={"HYTNAS_HEARTBEAT_STALE_SECONDS": "5"})
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 120, "the study to complete"
    )
    assert Evaluation.objects.filter(study=study).count() == 30
    assert Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count() == 30
    after = {
        key: tuple(obj)
        for key, obj in Evaluation.objects.filter(study=study).values_list("key", "objectives")
    }
    assert all(after[key] == values for key, values in measured_before.items())  # nothing lost or redone
    assert Iteration.objects.get(study=study, index=1).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_an_emptied_redis_does_not_stall_a_study(
    alice: Any, make_study: Any, start_worker: Callable[..., Any], rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)  # iteration 0 is queued ...
    redis.Redis.from_url(rq_queues).flushdb()  # ... and lost
    call_command("reconcile")  # the periodic reconciler puts it back
    start_worker()
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 90, "the study to complete"
    )
    assert Evaluation.objects.filter(study=study).count() == 30


@pytest.mark.django_db(transaction=True)
def test_a_worker_starting_after_redis_was_emptied_reconciles_by_itself(
    alice: Any, make_study: Any, start_worker: Callable[..., Any], rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    redis.Redis.from_url(rq_queues).flushdb()
    start_worker()  # reconciles on start
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 90, "the study to complete"
    )
    assert Evaluation.objects.filter(study=study).count() == 30
