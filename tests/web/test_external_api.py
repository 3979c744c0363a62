"""The worker API for external studies: claims of the user's own work, reports by objective name.

Through Django's test client; the client library against a real server process is tested in
test_external_client.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from tests.web.external_studies import CUSTOM_VARIABLES, custom_space, make_external_study
from tests.web.test_worker_api import Worker, running_remote_study, written_state


def running_external_study(owner: Any, **changes: Any) -> Study:
    """A started external study whose initial design (3 architectures) waits for the user's code."""
    study = make_external_study(owner, **changes)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")
    return study


@pytest.fixture
def study(alice: Any) -> Study:
    return running_external_study(alice, metrics=["params", "energy_mj"])


@pytest.fixture
def worker(alice: Any, study: Study) -> Worker:
    return Worker(services.issue_token(alice, "notebook", study).secret)


def claim_one(worker: Worker) -> tuple[dict[str, Any], str]:
    answer = worker.claim(evaluator="external").json()
    return answer["evaluations"][0], answer["lease"]["id"]


@pytest.mark.django_db
def test_a_claim_carries_the_architecture_decoded_and_as_a_cube_point_with_the_declarations(
    alice: Any,
) -> None:
    study = running_external_study(alice, space=custom_space(), metrics=["params"])
    worker = Worker(services.issue_token(alice, "notebook", study).secret)
    answer = worker.claim(evaluator="external").json()
    item = answer["evaluations"][0]
    stored = Evaluation.objects.get(pk=item["id"])
    assert set(item["architecture"]) == {v["name"] for v in CUSTOM_VARIABLES}
    assert item["architecture"] == stored.architecture
    assert item["x"] == stored.x and len(item["x"]) == len(CUSTOM_VARIABLES)
    assert all(0.0 <= value <= 1.0 for value in item["x"])
    assert [(o["name"], o["direction"], o["unit"]) for o in item["objectives"]] == [
        ("accuracy", "max", "%"),
        ("latency", "min", "ms"),
    ]
    assert item["metrics"] == ["params"]
    assert item["evaluator"]["name"] == "external"
    assert answer["studies_running"] == 1


@pytest.mark.django_db
def test_a_torch_worker_never_takes_external_work_and_the_client_never_takes_remote_work(
    alice: Any, study: Study
) -> None:
    remote = running_remote_study(alice)
    worker = Worker(services.issue_token(alice, "any study").secret)
    torch_claim = worker.claim(n=10).json()
    external_claim = worker.claim(n=10, evaluator="external").json()
    assert {e["study"]["id"] for e in torch_claim["evaluations"]} == {remote.pk}
    assert {e["study"]["id"] for e in external_claim["evaluations"]} == {study.pk}


@pytest.mark.django_db
def test_a_report_by_objective_name_is_stored_in_the_studys_order(study: Study, worker: Worker) -> None:
    item, lease = claim_one(worker)
    response = worker.report(
        item["id"],
        lease,
        objectives={"latency": 3.5, "accuracy": 71.25},
        metrics={"params": 1200000, "energy_mj": 4.5},
    )
    assert response.status_code == 201, response.json()
    evaluation = Evaluation.objects.get(pk=item["id"])
    assert evaluation.status == Evaluation.Status.DONE
    assert evaluation.objectives == [71.25, 3.5]
    assert evaluation.metrics == {"params": 1200000, "energy_mj": 4.5}
    assert evaluation.stage_latency is None


BAD_EXTERNAL_REPORTS = [
    ({"objectives": {"accuracy": 70.0}}, "objectives.latency", "required"),
    ({"objectives": {"accuracy": 70.0, "latency": 2.0, "loss": 0.1}}, "objectives.loss", "no objective"),
    ({"objectives": {"accuracy": "high", "latency": 2.0}}, "objectives.accuracy", "number"),
    ({"objectives": [70.0, 2.0], "metrics": {"energy": 1.0}}, "metrics.energy", "no metric"),
    ({"objectives": [70.0]}, "objectives", "2 objectives"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "words"), BAD_EXTERNAL_REPORTS)
def test_a_report_off_the_declarations_is_refused_naming_the_field_and_writes_nothing(
    study: Study, worker: Worker, change: dict[str, Any], field: str, words: str
) -> None:
    item, lease = claim_one(worker)
    before = written_state(study)
    response = worker.report(item["id"], lease, **change)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert written_state(study) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "field", "words"),
    [
        (b"1e400", "objectives.latency", "must be a finite number"),
        (b"Infinity", None, "Infinity is not a finite number"),
        (b"NaN", None, "NaN is not a finite number"),
    ],
)
def test_an_infinite_or_nan_objective_is_refused_and_writes_nothing(
    study: Study, worker: Worker, number: bytes, field: str | None, words: str
) -> None:
    item, lease = claim_one(worker)
    before = written_state(study)
    body = b'{"lease": "%s", "status": "done", "objectives": {"accuracy": 70, "latency": %s}}'
    response = worker.post(f"evaluations/{item['id']}/report", body % (lease.encode(), number))
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert written_state(study) == before


@pytest.mark.django_db
def test_work_of_a_study_the_token_does_not_reach_is_refused(
    alice: Any, study: Study, worker: Worker
) -> None:
    other = running_external_study(alice)
    other_worker = Worker(services.issue_token(alice, "other notebook", other).secret)
    item, lease = claim_one(other_worker)
    before = written_state(other)
    response = worker.report(item["id"], lease, objectives={"accuracy": 70.0, "latency": 2.0})
    assert response.status_code == 403
    assert "does not give access" in response.json()["error"]
    assert written_state(other) == before


@pytest.mark.django_db
def test_an_external_studys_page_shows_its_waiting_work_and_links_to_tokens(
    alice_client: Any, study: Study
) -> None:
    response = alice_client.get(reverse("studies-detail", args=[study.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert response.context["workers"].n_waiting == 3
    assert '<strong data-count="waiting">3</strong> evaluations waiting for a worker' in content
    assert f'<a href="{reverse("studies-tokens")}?study={study.pk}">Worker tokens</a>' in content
