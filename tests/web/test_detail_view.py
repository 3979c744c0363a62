"""The study page: status, progress, iterations, every evaluated architecture, failure reasons, actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.stored_config import store_config


def detail(client: Any, study: Study) -> Any:
    return client.get(reverse("studies-detail", args=[study.pk]))


def test_a_draft_shows_its_configuration_and_can_be_started(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice)
    response = detail(alice_client, study)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Draft" in content and "0 / 30" in content
    assert "not started (3 planned)" in content
    assert "problem=zdt1" in content and "pop_size=20" in content and "n_gen=5" in content
    assert "f1 ↓" in content and "(1.1, 1.1)" in content
    assert f'action="{reverse("studies-start", args=[study.pk])}"' in content
    assert f'action="{reverse("studies-pause", args=[study.pk])}"' not in content
    assert f'action="{reverse("studies-clone", args=[study.pk])}"' in content
    assert f'action="{reverse("studies-save-preset", args=[study.pk])}"' in content
    assert "No iteration yet" in content and "Nothing evaluated yet" in content


@pytest.mark.django_db(transaction=True)
def test_a_run_iteration_shows_its_hypervolume_and_every_architecture(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    response = detail(alice_client, study)
    content = response.content.decode()
    iteration = study.iterations.get(index=0)
    assert iteration.status == Iteration.Status.DONE
    assert "10 / 30" in content and "2 of 3" in content  # iteration 1 is queued next
    assert [it.index for it in response.context["iterations"]] == [0, 1]
    evaluations = list(response.context["evaluations"])
    assert len(evaluations) == 10
    for evaluation in evaluations:
        assert f"x0={evaluation.architecture['x0']:.4g}" in content
    assert "Initial design" in content
    assert f"{iteration.hypervolume:.4g}" in content
    assert f'action="{reverse("studies-pause", args=[study.pk])}"' in content


def test_a_failed_study_says_why_in_words(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    Iteration.objects.create(
        study=study,
        index=0,
        seed=1,
        status=Iteration.Status.DONE,
        n_evaluations=10,
        hypervolume=0.5,
        timings={"fit": 0.5, "evaluate": 0.25},
    )
    Iteration.objects.create(
        study=study,
        index=1,
        seed=2,
        status=Iteration.Status.FAILED,
        error="ValueError: the surrogate could not be fitted on constant data",
    )
    Study.objects.filter(pk=study.pk).update(
        status=Study.Status.FAILED, error="iteration 1 failed: ValueError: the surrogate could not be fitted"
    )
    content = detail(alice_client, study).content.decode()
    assert "Why it failed" in content
    assert "iteration 1 failed: ValueError: the surrogate could not be fitted" in content
    assert "Iteration 1: ValueError: the surrogate could not be fitted on constant data" in content
    assert "Retry failed iteration" in content
    assert "0.25 s" in content
    # Every phase in order; one that did not run is a dash.
    header = "".join(f'<th class="num">{phase}</th>' for phase in ("Fit", "Solve", "Select", "Evaluate"))
    cells = "".join(f'<td class="num">{text}</td>' for text in ("0.5 s", "—", "—", "0.25 s"))
    assert header in content and cells in content


def test_failed_evaluations_show_their_error(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    iteration = Iteration.objects.create(study=study, index=0, seed=1)
    Evaluation.objects.create(
        study=study,
        iteration=iteration,
        key="a",
        x=[0.1] * 4,
        architecture={"x0": 0.1},
        source=Evaluation.Source.INITIAL,
        status=Evaluation.Status.FAILED,
        error="evaluation raised TimeoutError",
    )
    content = detail(alice_client, study).content.decode()
    assert "evaluation raised TimeoutError" in content and "Failed" in content


def test_table_contents_stay_off_the_page(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    store_config(
        study,
        evaluator={
            "name": "table",
            "params": {
                "tables": [{"name": "acc.csv", "text": "SECRET-CELLS", "objectives": ["f1"]}],
                "model": "xgboost",
            },
        },
    )
    content = detail(alice_client, study).content.decode()
    assert "acc.csv (f1)" in content and "SECRET-CELLS" not in content


def test_another_users_study_is_not_found(bob_client: Any, alice: Any, make_study: Any) -> None:
    assert detail(bob_client, make_study(alice)).status_code == 404


def test_an_unknown_study_is_not_found(alice_client: Any) -> None:
    assert alice_client.get(reverse("studies-detail", args=[999999])).status_code == 404
