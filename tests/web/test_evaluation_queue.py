"""The torch evaluator's work on the evaluations queue: one job per architecture, any worker, no loss.

The iteration job proposes and hands its architectures out as evaluation jobs; whichever worker
listens to the ``evaluations`` queue measures them (on this machine or another reaching the same Redis
and database), and the last measurement puts the iteration back on its queue to be finished.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import django_rq
import pytest
from django.core.management import call_command

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.hardware_studies import FAST_TORCH, make_hardware_study
from tests.web.test_jobs import wait_for


def queued_evaluation_jobs() -> list[Any]:
    return django_rq.get_queue("evaluations").get_jobs()


@pytest.mark.django_db(transaction=True)
def test_an_iteration_hands_its_architectures_out_as_evaluation_jobs(alice: Any, rq_queues: str) -> None:
    study = make_hardware_study(alice, "torch")
    services.start_study(study)
    outcome = services.run_iteration(study.pk, 0, job_id="iteration-job")
    assert "waiting for 3 evaluation(s)" in outcome
    assert study.iterations.get(index=0).status == Iteration.Status.EVALUATING
    jobs = queued_evaluation_jobs()
    assert sorted(job.args[0] for job in jobs) == sorted(study.evaluations.values_list("pk", flat=True))
    # Running the iteration job again (a duplicate delivery) hands nothing out twice.
    services.run_iteration(study.pk, 0, job_id="duplicate")
    assert len(queued_evaluation_jobs()) == 3


@pytest.mark.django_db(transaction=True)
def test_a_paused_study_keeps_its_queued_architectures_for_when_it_resumes(
    alice: Any, rq_queues: str
) -> None:
    study = make_hardware_study(alice, "torch")
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="i0")
    first, *rest = list(study.evaluations.order_by("position"))
    assert services.run_evaluation(first.pk, job_id="e1") == "measured"
    services.pause_study(study)
    assert services.run_evaluation(rest[0].pk, job_id="e2") == "study is paused"
    assert Evaluation.objects.get(pk=rest[0].pk).status == Evaluation.Status.PENDING
    services.resume_study(study)
    services.run_iteration(study.pk, 0, job_id="i0-again")
    assert len(queued_evaluation_jobs()) == 3  # the waiting jobs are reused, none added
    for evaluation in rest:
        assert services.run_evaluation(evaluation.pk, job_id=f"e-{evaluation.pk}") == "measured"
    assert services.run_evaluation(first.pk, job_id="late") == "evaluation already done"
    services.run_iteration(study.pk, 0, job_id="finish")
    assert study.iterations.get(index=0).status == Iteration.Status.DONE
    measured = Evaluation.objects.get(pk=first.pk)
    assert measured.attempts == 1
    assert measured.device["hostname"] == socket.gethostname()
    assert set(measured.stage_latency) == {"backbone", "head"}  # classification: the classifier is the head
    assert measured.metrics["params_total"] > 0


@pytest.mark.django_db(transaction=True)
def test_separate_workers_for_iterations_and_evaluations_complete_a_torch_study(
    alice: Any, start_worker: Callable[..., Any]
) -> None:
    study = make_hardware_study(alice, "torch")
    services.start_study(study)
    start_worker(queues=("iterations",))
    start_worker(queues=("evaluations",))
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 180, "the study to complete"
    )
    evaluations = list(Evaluation.objects.filter(study=study))
    assert len(evaluations) == 5
    assert all(e.status == Evaluation.Status.DONE and e.job_id for e in evaluations)
    assert all(e.objectives[1] > 0 and e.stage_latency["backbone"] > 0 for e in evaluations)
    assert all(e.device.get("cpu_count") and e.device.get("torch") for e in evaluations)
    assert [it.status for it in study.iterations.order_by("index")] == [Iteration.Status.DONE] * 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(1200)  # a measurement takes seconds on an idle machine, many times that on a busy one
def test_an_evaluation_worker_killed_mid_measurement_loses_nothing(
    alice: Any, start_worker: Callable[..., Any], settings: Any
) -> None:
    settings.HEARTBEAT_STALE_SECONDS = 5
    env = {"HYTNAS_HEARTBEAT_STALE_SECONDS": "5"}
    # seconds per architecture, with a time limit a loaded machine cannot reach
    slow = {**FAST_TORCH, "repeats": 1500, "time_limit": 900.0}
    study = make_hardware_study(alice, "torch", evaluator={"name": "torch", "params": slow}, budget=3)
    services.start_study(study)
    start_worker(queues=("iterations",), env=env)
    evaluator = start_worker(queues=("evaluations",), env=env)
    wait_for(
        lambda: (
            Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).count() >= 1
            and Evaluation.objects.filter(study=study, status=Evaluation.Status.PENDING, attempts=1).exists()
        ),
        420,
        "one architecture measured and the next being measured",
    )
    os.kill(evaluator.pid, signal.SIGKILL)
    evaluator.wait()
    measured_before = dict(
        Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE).values_list("pk", "objectives")
    )
    time.sleep(5.5)  # the dead job's lease runs out
    call_command("reconcile")
    start_worker(queues=("evaluations",), env=env)
    wait_for(
        lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 480, "the study to complete"
    )
    after = dict(Evaluation.objects.filter(study=study).values_list("pk", "objectives"))
    assert all(after[pk] == values for pk, values in measured_before.items())  # nothing redone
    outcomes = list(Evaluation.objects.filter(study=study).values_list("status", "error"))
    assert [status for status, _ in outcomes].count(Evaluation.Status.DONE) == 3, outcomes
    assert max(Evaluation.objects.filter(study=study).values_list("attempts", flat=True)) == 2
