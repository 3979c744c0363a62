"""Keeping N architectures in flight, at the service level: results arriving together never over-propose.

Results are recorded the way every worker records them (``record_result``), several at once from
threads, in random order; the iteration jobs run in this process. The study must end with exactly
its budget of distinct architectures, never more than N in flight, and completed.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import django_rq
import pytest
import redis

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.evaluations import record_result
from search_engine.types import EvaluationResult
from tests.web.external_studies import make_external_study
from tests.web.hardware_studies import make_hardware_study

IN_FLIGHT = 3
BUDGET = 11


def pending(study: Study) -> list[Evaluation]:
    return list(study.evaluations.filter(status=Evaluation.Status.PENDING))


def run_due_iterations(study: Study) -> None:
    """Run unfinished iterations in this process until none is left, as an iteration worker would."""
    for _ in range(BUDGET):
        due = study.iterations.exclude(status=Iteration.Status.DONE).order_by("index").first()
        if due is None or Study.objects.get(pk=study.pk).status != Study.Status.RUNNING:
            return
        services.run_iteration(study.pk, due.index, job_id="in-process")


def measure(evaluation: Evaluation) -> EvaluationResult:
    """A cheap stand-in for the user's code: objectives from the cube point."""
    x = evaluation.x
    return EvaluationResult(objectives=(60.0 + 20.0 * x[0], 1.0 + 100.0 * x[1]), seconds=0.01)


def report_together(evaluations: list[Evaluation]) -> None:
    """Record these results from one thread each, released at the same moment, in random order."""
    random.shuffle(evaluations)
    barrier = threading.Barrier(len(evaluations))
    errors: list[BaseException] = []

    def report(evaluation: Evaluation) -> None:
        from django.db import connection

        try:
            barrier.wait(timeout=30)
            record_result(evaluation, measure(evaluation), {"name": "test"})
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(e,)) for e in evaluations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_results_arriving_together_never_take_the_study_past_n_in_flight_or_its_budget(
    alice: Any, rq_queues: str
) -> None:
    study = make_external_study(alice, n_init=2, budget=BUDGET, in_flight=IN_FLIGHT)
    services.start_study(study)
    run_due_iterations(study)
    largest_in_flight = 0
    for _ in range(4 * BUDGET):
        study.refresh_from_db()
        if study.status != Study.Status.RUNNING:
            break
        assert study.iterations.exclude(status=Iteration.Status.DONE).count() <= 1
        in_flight = pending(study)
        largest_in_flight = max(largest_in_flight, len(in_flight))
        # Half of what is in flight (at least one) comes back at once; the rest stays out for now.
        report_together(in_flight[: max(1, len(in_flight) // 2 + 1)])
        run_due_iterations(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    evaluations = list(study.evaluations.all())
    assert len(evaluations) == BUDGET
    assert len({e.key for e in evaluations}) == BUDGET
    assert all(e.status == Evaluation.Status.DONE for e in evaluations)
    assert largest_in_flight == IN_FLIGHT
    proposals = study.iterations.filter(index__gt=0).order_by("index")
    for proposal in proposals:
        figures = proposal.diagnostics
        assert figures["in_flight_before"] + figures["proposed"] <= IN_FLIGHT, figures
        assert proposal.evaluations.count() == figures["proposed"]
    # Proposals after the first saw the measurements and the points in flight.
    assert any(p.diagnostics.get("n_pending", 0) > 0 for p in proposals)


@pytest.mark.django_db(transaction=True)
def test_a_study_keeping_n_in_flight_pauses_and_resumes_without_losing_its_work(
    alice: Any, rq_queues: str
) -> None:
    study = make_external_study(alice, n_init=2, budget=6, in_flight=IN_FLIGHT)
    services.start_study(study)
    run_due_iterations(study)
    assert len(pending(study)) == IN_FLIGHT
    services.pause_study(study)
    report_together(pending(study)[:2])  # results of work already handed out still count
    study.refresh_from_db()
    assert study.status == Study.Status.PAUSED
    assert not study.iterations.exclude(status=Iteration.Status.DONE).exists()  # nothing proposed
    services.resume_study(study)
    run_due_iterations(study)
    assert len(pending(study)) == IN_FLIGHT
    while pending(study):
        report_together(pending(study))
        run_due_iterations(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    assert study.evaluations.count() == 6 == len(set(study.evaluations.values_list("key", flat=True)))


@pytest.mark.django_db(transaction=True)
def test_the_reconciler_proposes_when_a_results_trigger_was_lost(alice: Any, rq_queues: str) -> None:
    study = make_external_study(alice, n_init=2, budget=6, in_flight=IN_FLIGHT)
    services.start_study(study)
    run_due_iterations(study)
    # The result lands, but the proposal it set going is lost with the queue (Redis emptied).
    report_together(pending(study)[:1])
    assert study.iterations.exclude(status=Iteration.Status.DONE).count() == 1
    redis.Redis.from_url(rq_queues).flushdb()
    assert services.reconcile() == [f"study {study.pk}: re-enqueued"]
    run_due_iterations(study)
    assert len(pending(study)) == IN_FLIGHT
    assert services.reconcile() == []  # work out with workers is not a stuck study


@pytest.mark.django_db(transaction=True)
def test_the_reconciler_replaces_evaluation_jobs_lost_while_proposals_are_done(
    alice: Any, rq_queues: str
) -> None:
    study = make_hardware_study(alice, "torch", n_init=2, budget=6, in_flight=IN_FLIGHT)
    services.start_study(study)
    run_due_iterations(study)
    waiting = sorted(e.pk for e in pending(study))
    assert len(waiting) == IN_FLIGHT
    assert sorted(job.args[0] for job in django_rq.get_queue("evaluations").get_jobs()) == waiting
    redis.Redis.from_url(rq_queues).flushdb()  # the queue lost every job; every proposal is done
    assert services.reconcile() == [f"study {study.pk}: evaluations re-enqueued"]
    assert sorted(job.args[0] for job in django_rq.get_queue("evaluations").get_jobs()) == waiting
    assert services.reconcile() == []  # queued jobs are not enqueued twice
