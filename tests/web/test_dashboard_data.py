"""The dashboard's JSON endpoint: everything first, then only what changed since the client's version."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.stored_config import store_config


def add_iteration(study: Study, index: int, **fields: Any) -> Iteration:
    """An iteration row written the way the jobs write one (stamped with a new study version)."""
    version = services.bump_version(study.pk)
    return Iteration.objects.create(study=study, index=index, seed=index, version=version, **fields)


def add_evaluation(
    study: Study,
    iteration: Iteration,
    key: str,
    objectives: list[float] | None,
    stage_latency: dict[str, float] | None = None,
    **fields: Any,
) -> Evaluation:
    """A finished evaluation (failed when ``objectives`` is None), stamped like ``_save_result`` does."""
    return Evaluation.objects.create(
        study=study,
        iteration=iteration,
        key=key,
        x=[0.5] * 4,
        architecture={"x0": 0.5, "x1": 0.25},
        source=Evaluation.Source.INITIAL,
        status=Evaluation.Status.DONE if objectives is not None else Evaluation.Status.FAILED,
        objectives=objectives,
        stage_latency=stage_latency,
        error="" if objectives is not None else "evaluation raised RuntimeError",
        version=services.bump_version(study.pk),
        **fields,
    )


def data(client: Any, study: Study, since: str | None = None) -> Any:
    url = reverse("studies-dashboard-data", args=[study.pk])
    return client.get(url, {"since": since} if since is not None else {})


@pytest.fixture
def measured_study(alice: Any, make_study: Any) -> Study:
    """A running study whose initial design (three points, one failed) is measured."""
    study = make_study(alice)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    iteration = add_iteration(study, 0, status=Iteration.Status.DONE, hypervolume=0.5, n_evaluations=3)
    add_evaluation(study, iteration, "a", [0.2, 0.8])
    add_evaluation(study, iteration, "b", [0.6, 0.3])
    add_evaluation(study, iteration, "c", None)
    study.refresh_from_db()
    return study


def test_the_first_call_gets_everything(alice_client: Any, measured_study: Study) -> None:
    response = data(alice_client, measured_study)
    assert response.status_code == 200
    payload = response.json()
    assert payload["full"] is True and payload["status"] == "running"
    pareto = payload["figures"]["pareto"]["data"]
    assert pareto[0]["customdata"] == sorted(pareto[0]["customdata"]) and len(pareto[0]["customdata"]) == 2
    hypervolume = payload["figures"]["hypervolume"]
    assert hypervolume["data"][0]["customdata"] == [0]  # the stored value of iteration 0, not recomputed
    assert "Log hypervolume difference" in hypervolume["layout"]["title"]["text"]  # ZDT1's front is known
    assert payload["progress"]["n_done"] == 2 and payload["progress"]["n_failed"] == 1
    assert [row["error"] for row in payload["failed"]] == ["evaluation raised RuntimeError"]
    assert "stage_latency" in payload["notes"] and payload["figures"]["stage_latency"] is None


def test_a_second_call_with_the_returned_version_gets_304(alice_client: Any, measured_study: Study) -> None:
    version = data(alice_client, measured_study).json()["version"]
    response = data(alice_client, measured_study, since=version)
    assert response.status_code == 304 and response.content == b""


def test_after_a_new_evaluation_only_that_evaluation_comes(alice_client: Any, measured_study: Study) -> None:
    version = data(alice_client, measured_study).json()["version"]
    iteration = add_iteration(
        measured_study, 1, status=Iteration.Status.RUNNING, timings={"fit": 0.5, "solve": 1.0}
    )
    new = add_evaluation(
        measured_study,
        iteration,
        "d",
        [0.1, 0.1],
        stage_latency={"backbone": 3.0, "neck": 1.0, "head": 1.0},
        predicted_mean=[0.15, 0.12],
    )
    response = data(alice_client, measured_study, since=version)
    assert response.status_code == 200
    changes = response.json()
    assert changes["full"] is False and changes["version"] != version
    assert changes["pareto"]["points"]["ids"] == [new.pk]
    assert changes["pareto"]["points"]["x"] == [0.1] and changes["pareto"]["points"]["color"] == [1]
    [front, reference, predicted] = changes["pareto"]["overlays"]
    assert front["customdata"] == [new.pk]  # it dominates both earlier points
    assert reference["name"] == "reference point"
    assert predicted["customdata"] == [new.pk] and predicted["x"] == [0.15]
    assert changes["stage_shares"] == [0.6]
    assert changes["figures"]["stage_latency"]["data"][0]["x"] == [f"#{new.pk}"]
    assert changes["figures"]["timing"]["data"][0]["y"] == [0.5]  # iteration 0 recorded no timings
    assert changes["failed_new"] == []
    assert f">{new.pk}<" in changes["html"]["evaluations"]
    assert data(alice_client, measured_study, since=changes["version"]).status_code == 304
    # The next poll starts from the front cached by this one and still gets the whole front.
    other = add_evaluation(measured_study, iteration, "e", [0.05, 0.5])
    later = data(alice_client, measured_study, since=changes["version"]).json()
    assert later["pareto"]["points"]["ids"] == [other.pk]
    assert later["pareto"]["overlays"][0]["customdata"] == [other.pk, new.pk]
    assert later["pareto"]["title"] == "Pareto front: 2 non-dominated of 4 measured"


def test_a_new_failure_is_listed_and_not_plotted(alice_client: Any, measured_study: Study) -> None:
    version = data(alice_client, measured_study).json()["version"]
    failed = add_evaluation(measured_study, measured_study.iterations.get(index=0), "e", None)
    changes = data(alice_client, measured_study, since=version).json()
    assert [row["id"] for row in changes["failed_new"]] == [failed.pk]
    assert changes["pareto"]["points"] is None
    assert changes["progress"]["n_failed"] == 2


def test_a_lifecycle_change_sends_status_and_progress_only(alice_client: Any, measured_study: Study) -> None:
    version = data(alice_client, measured_study).json()["version"]
    services.pause_study(measured_study)
    changes = data(alice_client, measured_study, since=version).json()
    assert changes["status"] == "paused" and changes["active"] is True
    assert "pareto" not in changes and "figures" not in changes


def test_imported_rows_are_seen_even_without_a_version_stamp(
    alice_client: Any, measured_study: Study
) -> None:
    version = data(alice_client, measured_study).json()["version"]
    imported = Evaluation.objects.create(
        study=measured_study,
        key="imported",
        x=[0.1] * 4,
        architecture={"x0": 0.1},
        source=Evaluation.Source.IMPORTED,
        status=Evaluation.Status.DONE,
        objectives=[0.05, 0.9],
    )
    changes = data(alice_client, measured_study, since=version).json()
    assert changes["pareto"]["points"]["ids"] == [imported.pk]
    assert changes["pareto"]["points"]["color"] == [-1]  # no proposing iteration


def test_a_malformed_version_gets_everything(alice_client: Any, measured_study: Study) -> None:
    assert data(alice_client, measured_study, since="nonsense").json()["full"] is True


def test_hostile_names_are_escaped_in_the_json(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice, name="<script>alert('study')</script>")
    store_config(
        study,
        objectives=[
            {"name": "<img src=x onerror=alert(1)>", "direction": "min", "unit": "<b>ms</b>"},
            {"name": "f2 & co", "direction": "min", "unit": ""},
        ],
    )
    iteration = add_iteration(study, 0, status=Iteration.Status.DONE, hypervolume=0.1, n_evaluations=1)
    add_evaluation(study, iteration, "a", [0.2, 0.8])
    body = data(alice_client, study).content.decode()
    text = json.dumps(json.loads(body))  # escapes as in the page
    assert "<img" not in text and "<b>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "f2 &amp; co" in text


def test_an_empty_study_has_no_figures_but_notes(alice_client: Any, alice: Any, make_study: Any) -> None:
    payload = data(alice_client, make_study(alice)).json()
    assert all(figure is None for figure in payload["figures"].values())
    assert set(payload["notes"]) == set(payload["figures"])


def test_another_users_study_data_is_not_found(bob_client: Any, measured_study: Study) -> None:
    assert data(bob_client, measured_study).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_jobs_bump_the_version_as_they_write(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    version = data(alice_client, study).json()["version"]
    services.run_iteration(study.pk, 0, job_id="in-test")
    study.refresh_from_db()
    assert study.version > 0
    assert set(study.evaluations.values_list("version", flat=True)) != {0}
    changes = data(alice_client, study, since=version).json()
    assert len(changes["pareto"]["points"]["ids"]) == 10
    assert changes["figures"]["hypervolume"] is not None
    assert changes["progress"]["n_done"] == 10
