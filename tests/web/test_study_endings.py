"""How a study ends, and that it says why: budget spent, search space used up, or nothing succeeded.

Results are recorded in the test process as a worker's report would record them, and each iteration
job is run here, so every step is seen.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.evaluations import record_result
from search_engine.types import EvaluationResult
from tests.web.external_studies import make_external_study

#: Two yes/no choices: a space of four architectures.
TINY_SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "attention", "type": "choice", "choices": ["no", "yes"]},
            {"name": "wide", "type": "choice", "choices": ["no", "yes"]},
        ]
    },
}


def measure_pending(study: Study, result: Any) -> int:
    """Record ``result(evaluation)`` for every pending evaluation; returns how many."""
    pending = list(study.evaluations.filter(status=Evaluation.Status.PENDING).order_by("id"))
    for evaluation in pending:
        record_result(evaluation, result(evaluation), {"name": "test bench"})
    return len(pending)


def run_to_the_end(study: Study, result: Any, most: int = 20) -> Study:
    """Run iterations and measure their work until the study stops running."""
    for _ in range(most):
        study.refresh_from_db()
        if study.status != Study.Status.RUNNING:
            return study
        current = study.iterations.exclude(status=Iteration.Status.DONE).order_by("index").first()
        if current is not None:
            services.run_iteration(study.pk, current.index, job_id="in-test")
        measure_pending(study, result)
    study.refresh_from_db()
    return study


def succeeds(evaluation: Evaluation) -> EvaluationResult:
    return EvaluationResult(objectives=(70.0 + evaluation.pk % 7, 5.0 + evaluation.pk % 3))


def test_a_study_whose_initial_design_all_failed_fails_with_the_reasons_and_proposes_nothing_more(
    alice_client: Any, alice: User, rq_queues: str
) -> None:
    study = make_external_study(alice, n_init=4, batch_size=2, budget=12)
    services.start_study(study)
    reasons = ["CUDA out of memory", "CUDA out of memory", "CUDA out of memory", "board not found"]

    def fails(evaluation: Evaluation) -> EvaluationResult:
        return EvaluationResult.failure(reasons[evaluation.position])

    study = run_to_the_end(study, fails)
    assert study.status == Study.Status.FAILED
    assert "not one of its 4 measured evaluations succeeded" in study.error
    assert "3 × CUDA out of memory; 1 × board not found" in study.error
    assert study.evaluations.count() == 4  # nothing proposed after the initial design
    assert list(study.iterations.values_list("index", flat=True)) == [0]
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "Failed" in page and "3 × CUDA out of memory" in page and "Completed" not in page


def test_a_study_keeping_n_in_flight_stops_too_when_its_initial_design_all_failed(
    alice: User, rq_queues: str
) -> None:
    study = make_external_study(alice, n_init=3, batch_size=2, budget=10, in_flight=2)
    services.start_study(study)
    study = run_to_the_end(study, lambda evaluation: EvaluationResult.failure("script crashed"))
    assert study.status == Study.Status.FAILED and "× script crashed" in study.error
    # Proposals overlap the initial design (a result frees room at once), but none follow it.
    assert study.evaluations.count() <= 3 + 2


def test_a_space_smaller_than_the_budget_completes_saying_it_is_used_up(
    alice_client: Any, alice: User, rq_queues: str
) -> None:
    study = make_external_study(alice, space=TINY_SPACE, n_init=2, batch_size=2, budget=20)
    services.start_study(study)
    study = run_to_the_end(study, succeeds)
    assert study.status == Study.Status.COMPLETED
    assert study.evaluations.count() == 4
    assert "search space has no architecture left to propose (4 measured)" in study.end_reason
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "Completed: its search space has no architecture left to propose (4 measured)." in page


def test_a_study_that_spends_its_budget_says_so(alice: User, rq_queues: str) -> None:
    study = make_external_study(alice, n_init=3, batch_size=2, budget=5)
    services.start_study(study)
    study = run_to_the_end(study, succeeds)
    assert study.status == Study.Status.COMPLETED
    assert study.end_reason == "its budget of 5 evaluations is spent"


def test_after_cancel_the_page_says_what_was_left_unmeasured_not_pending(
    alice_client: Any, alice: User, rq_queues: str
) -> None:
    study = make_external_study(alice, n_init=4, batch_size=2, budget=12)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    services.cancel_study(study)
    progress = services.study_progress(Study.objects.get(pk=study.pk))
    assert progress["n_pending_text"] == "4 not measured (cancelled)"
    assert progress["iteration_text"] == "cancelled after 1 of 5 planned"
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "4 not measured (cancelled)" in page
    data = alice_client.get(reverse("studies-dashboard-data", args=[study.pk])).json()
    assert data["progress"]["n_pending_text"] == "4 not measured (cancelled)"  # the live view agrees


def test_cancel_asks_for_a_confirmation_naming_what_it_stops(
    alice_client: Any, alice: User, rq_queues: str
) -> None:
    study = make_external_study(alice)
    services.start_study(study)
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    cancel = reverse("studies-cancel", args=[study.pk])
    form = page[page.index(f'action="{cancel}"') :].split(">", 1)[0]
    assert "data-confirm=" in form and "cannot be resumed" in form
    assert "js/confirm.js" in page
