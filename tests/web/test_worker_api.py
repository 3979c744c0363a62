"""The evaluation worker API: tokens, claims under a lease, extensions, reports, and bad payloads.

These tests talk to the API through Django's test client (the full request/response stack); the
end-to-end test with a real server process and a real worker is in test_remote_worker.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Lease, Study
from tests.web.hardware_studies import make_hardware_study

DEVICE = {"name": "pi-5", "machine": "aarch64", "processor": "Cortex-A76", "cpu_count": 4}


class Worker:
    """A test client speaking to the API with one token."""

    def __init__(self, secret: str) -> None:
        self.client = Client()
        self.secret = secret

    def post(self, path: str, payload: Any) -> Any:
        body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        return self.client.post(
            f"/api/v1/{path}",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.secret}",
        )

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {self.secret}")

    def claim(self, n: int = 1, lease_seconds: int = 600, **extra: Any) -> Any:
        return self.post(
            "claims", {"max_evaluations": n, "lease_seconds": lease_seconds, "device": DEVICE, **extra}
        )

    def report(self, evaluation_id: int, lease_id: str, **payload: Any) -> Any:
        body = {"lease": lease_id, "status": "done", "objectives": [12.5, 3.25], **payload}
        return self.post(f"evaluations/{evaluation_id}/report", body)


def running_remote_study(owner: Any, **changes: Any) -> Study:
    """A started remote study whose initial design (3 architectures) waits for workers."""
    study = make_hardware_study(owner, "remote", **changes)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")
    return study


@pytest.fixture
def study(alice: Any) -> Study:
    return running_remote_study(alice)


@pytest.fixture
def worker(alice: Any, study: Study) -> Worker:
    return Worker(services.issue_token(alice, "pi-5", study).secret)


def written_state(study: Study) -> list[tuple[Any, ...]]:
    """Every evaluation's stored outcome and lease, to show a rejected request wrote nothing."""
    return list(
        study.evaluations.order_by("id").values_list(
            "status", "objectives", "metrics", "device", "lease_id", "lease_expires_at", "error"
        )
    )


@pytest.mark.django_db
def test_the_initial_design_waits_for_workers_instead_of_being_measured(study: Study) -> None:
    iteration = study.iterations.get(index=0)
    assert iteration.status == Iteration.Status.EVALUATING
    assert study.evaluations.filter(status=Evaluation.Status.PENDING).count() == 3


@pytest.mark.django_db
def test_a_claim_hands_out_work_with_how_to_measure_it(study: Study, worker: Worker) -> None:
    response = worker.claim(n=2)
    assert response.status_code == 200
    body = response.json()
    assert len(body["evaluations"]) == 2
    item = body["evaluations"][0]
    assert item["evaluator"]["name"] == "torch"
    assert item["evaluator"]["params"]["resolution"] == 32
    assert [o["name"] for o in item["objectives"]] == ["accuracy_proxy", "latency"]
    assert set(item["architecture"]) >= {"ffn_width_3", "patch_size_5"} or item["architecture"]
    assert body["lease"]["lease_seconds"] in (599, 600)
    held = study.evaluations.filter(lease_id=body["lease"]["id"])
    assert held.count() == 2 and all(e.attempts == 1 for e in held)
    assert Lease.objects.get(pk=body["lease"]["id"]).device == DEVICE
    # The third is still free; a fourth claim finds nothing and is told when to come back.
    assert len(worker.claim(n=5).json()["evaluations"]) == 1
    empty = worker.claim().json()
    assert empty["evaluations"] == [] and empty["lease"] is None and empty["retry_after_seconds"] > 0


@pytest.mark.django_db
def test_a_report_records_objectives_stage_latency_metrics_and_device(study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    evaluation_id, lease = claim["evaluations"][0]["id"], claim["lease"]["id"]
    response = worker.report(
        evaluation_id,
        lease,
        stage_latency={"backbone": 2.5, "neck": 0.5, "head": 0.25},
        metrics={"params_total": 123456, "latency_p90_ms": 3.5, "note": "fan on"},
        seconds=1.5,
    )
    assert response.status_code == 201 and response.json()["status"] == "recorded"
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    assert evaluation.status == Evaluation.Status.DONE
    assert evaluation.objectives == [12.5, 3.25]
    assert evaluation.stage_latency == {"backbone": 2.5, "neck": 0.5, "head": 0.25}
    assert evaluation.metrics["params_total"] == 123456 and evaluation.metrics["note"] == "fan on"
    assert evaluation.device == DEVICE  # the claim's description, since the report had none
    # Counts stay whole numbers ("4 cores", not "4.0").
    assert type(evaluation.device["cpu_count"]) is int and type(evaluation.metrics["params_total"]) is int
    assert evaluation.seconds == 1.5


@pytest.mark.django_db
def test_a_failure_report_keeps_the_reason(study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    evaluation_id = claim["evaluations"][0]["id"]
    body = {
        "lease": claim["lease"]["id"],
        "status": "failed",
        "error": "ran out of memory",
        "device": {"name": "pi-zero"},
    }
    assert worker.post(f"evaluations/{evaluation_id}/report", body).status_code == 201
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    assert evaluation.status == Evaluation.Status.FAILED
    assert evaluation.error == "ran out of memory" and evaluation.device == {"name": "pi-zero"}


@pytest.mark.django_db
def test_the_same_report_twice_is_recorded_once(study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    evaluation_id, lease = claim["evaluations"][0]["id"], claim["lease"]["id"]
    assert worker.report(evaluation_id, lease).status_code == 201
    version = Study.objects.get(pk=study.pk).version
    again = worker.report(evaluation_id, lease, objectives=[99.0, 1.0])
    assert again.status_code == 200 and again.json()["status"] == "already_recorded"
    assert Evaluation.objects.get(pk=evaluation_id).objectives == [12.5, 3.25]
    assert Study.objects.get(pk=study.pk).version == version  # nothing was written


@pytest.mark.django_db
def test_an_expired_lease_returns_its_work_to_the_pool_and_a_late_report_is_rejected(
    alice: Any, study: Study, worker: Worker
) -> None:
    first = worker.claim(n=3).json()
    assert worker.claim().json()["evaluations"] == []
    # The first worker goes quiet: its lease runs out.
    study.evaluations.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    other = Worker(services.issue_token(alice, "jetson", study).secret)
    second = other.claim(n=3).json()
    assert sorted(e["id"] for e in second["evaluations"]) == sorted(e["id"] for e in first["evaluations"])
    assert all(e.attempts == 2 for e in study.evaluations.all())
    # The first lease lost its work: extending it says so.
    lost = worker.post(f"leases/{first['lease']['id']}/extend", {"lease_seconds": 600})
    assert lost.status_code == 409 and "no pending evaluation" in lost.json()["error"]
    evaluation_id = second["evaluations"][0]["id"]
    assert other.report(evaluation_id, second["lease"]["id"]).status_code == 201
    late = worker.report(evaluation_id, first["lease"]["id"], objectives=[1.0, 1.0])
    assert late.status_code == 409
    assert late.json()["status"] == "rejected" and "late" in late.json()["error"]
    assert Evaluation.objects.get(pk=evaluation_id).objectives == [12.5, 3.25]


@pytest.mark.django_db
def test_a_report_under_an_expired_lease_is_kept_while_nobody_else_reported(
    study: Study, worker: Worker
) -> None:
    claim = worker.claim().json()
    evaluation_id = claim["evaluations"][0]["id"]
    Evaluation.objects.filter(pk=evaluation_id).update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    assert worker.report(evaluation_id, claim["lease"]["id"]).status_code == 201
    assert Evaluation.objects.get(pk=evaluation_id).status == Evaluation.Status.DONE


@pytest.mark.django_db
def test_extending_a_lease_pushes_its_end_and_keeps_the_work(study: Study, worker: Worker) -> None:
    claim = worker.claim(n=2, lease_seconds=60).json()
    response = worker.post(f"leases/{claim['lease']['id']}/extend", {"lease_seconds": 3600})
    assert response.status_code == 200
    assert sorted(response.json()["evaluations"]) == sorted(e["id"] for e in claim["evaluations"])
    assert response.json()["lease"]["lease_seconds"] >= 3590
    for evaluation in study.evaluations.filter(lease_id=claim["lease"]["id"]):
        assert evaluation.lease_expires_at > timezone.now() + timedelta(seconds=3500)


@pytest.mark.django_db
def test_unknown_missing_and_revoked_tokens_get_401(alice: Any, study: Study) -> None:
    issued = services.issue_token(alice, "old board", study)
    assert Worker(issued.secret).get("worker").status_code == 200
    services.revoke_token(issued.token)
    for secret in (issued.secret, "hyt_not-a-token", ""):
        response = Worker(secret).claim()
        assert response.status_code == 401, secret
        assert "token" in response.json()["error"]
    assert Client().post("/api/v1/claims", "{}", content_type="application/json").status_code == 401


@pytest.mark.django_db
def test_revoking_a_token_frees_the_work_it_held(alice: Any, study: Study) -> None:
    issued = services.issue_token(alice, "stolen board", study)
    Worker(issued.secret).claim(n=3)
    services.revoke_token(issued.token)
    other = Worker(services.issue_token(alice, "new board", study).secret)
    assert len(other.claim(n=3).json()["evaluations"]) == 3


@pytest.mark.django_db
def test_a_study_token_gets_no_work_of_another_study_and_cannot_report_on_it(
    alice: Any, bob: Any, study: Study, worker: Worker
) -> None:
    other_study = running_remote_study(alice, seed=5)
    foreign = running_remote_study(bob, seed=6)
    claimed = worker.claim(n=10).json()["evaluations"]
    assert {e["study"]["id"] for e in claimed} == {study.pk}
    assert worker.claim(study=other_study.pk).status_code == 403
    # A per-worker token of alice sees both of her studies, never bob's.
    alice_worker = Worker(services.issue_token(alice, "lab rack").secret)
    lease = alice_worker.claim(n=10).json()
    assert {e["study"]["id"] for e in lease["evaluations"]} == {other_study.pk}
    target = foreign.evaluations.first()
    before = written_state(foreign)
    refused = alice_worker.report(target.pk, lease["lease"]["id"])
    assert refused.status_code == 403 and "does not give access" in refused.json()["error"]
    assert written_state(foreign) == before


@pytest.mark.django_db
def test_a_lease_of_another_token_cannot_be_used(alice: Any, study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    thief = Worker(services.issue_token(alice, "other", study).secret)
    before = written_state(study)
    assert thief.report(claim["evaluations"][0]["id"], claim["lease"]["id"]).status_code == 403
    assert thief.post(f"leases/{claim['lease']['id']}/extend", {}).status_code == 403
    assert written_state(study) == before


BAD_REPORTS = [
    ({"objectives": [1.0]}, "objectives", "2 objectives"),
    ({"objectives": [1.0, "fast"]}, "objectives[1]", "number"),
    ({"objectives": [1.0, True]}, "objectives[1]", "number"),
    ({"objectives": "1,2"}, "objectives", "list"),
    ({"status": "maybe"}, "status", "done"),
    ({"lease": "not-a-uuid"}, "lease", "lease"),
    ({"stage_latency": {"backbone": -1.0}}, "stage_latency.backbone", "at least"),
    ({"stage_latency": [1, 2, 3]}, "stage_latency", "object"),
    ({"metrics": {"params": [1, 2]}}, "metrics.params", "number"),
    ({"metrics": {f"m{i}": 1 for i in range(201)}}, "metrics", "at most"),
    ({"device": {"name": "x" * 500}}, "device.name", "at most"),
    ({"device": {"nested": {"a": 1}}}, "device.nested", "string"),
    ({"seconds": -2}, "seconds", "at least"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"status": "failed"}, "objectives", "no objectives"),
    ({"status": "failed", "objectives": None}, "error", "why"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "words"), BAD_REPORTS)
def test_a_bad_report_is_refused_with_the_field_and_writes_nothing(
    study: Study, worker: Worker, change: dict[str, Any], field: str, words: str
) -> None:
    claim = worker.claim().json()
    evaluation_id = claim["evaluations"][0]["id"]
    before = written_state(study)
    response = worker.report(evaluation_id, claim["lease"]["id"], **change)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert written_state(study) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"lease": "x", "status": "done", "objectives": [NaN, 1]}', 400, "NaN"),
        (b'{"pad": "' + b"x" * (300 * 1024) + b'"}', 413, "larger than"),
    ],
)
def test_malformed_bodies_are_refused_in_words(
    study: Study, worker: Worker, body: bytes, status: int, words: str
) -> None:
    claim = worker.claim().json()
    before = written_state(study)
    response = worker.post(f"evaluations/{claim['evaluations'][0]['id']}/report", body)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert written_state(study) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"max_evaluations": 0}, "max_evaluations"),
        ({"max_evaluations": 65}, "max_evaluations"),
        ({"lease_seconds": 5}, "lease_seconds"),
        ({"lease_seconds": "600"}, "lease_seconds"),
        ({"device": "pi"}, "device"),
    ],
)
def test_bad_claims_are_refused_and_hold_nothing(
    study: Study, worker: Worker, payload: dict[str, Any], field: str
) -> None:
    response = worker.post("claims", payload)
    assert response.status_code == 400 and response.json()["field"] == field
    assert not Lease.objects.exists()
    assert not study.evaluations.exclude(lease_expires_at=None).exists()


@pytest.mark.django_db
def test_unknown_evaluations_and_leases_get_404_and_wrong_methods_405(study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    assert worker.report(10**9, claim["lease"]["id"]).status_code == 404
    assert worker.post("leases/00000000-0000-0000-0000-000000000000/extend", {}).status_code == 404
    assert worker.get("claims").status_code == 405


@pytest.mark.django_db
def test_a_paused_study_hands_out_no_work_but_keeps_reports(alice: Any, study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    services.pause_study(study)
    assert worker.claim(n=5).json()["evaluations"] == []
    assert worker.report(claim["evaluations"][0]["id"], claim["lease"]["id"]).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_last_report_of_an_iteration_finishes_it_and_the_next_one_is_proposed(
    alice: Any, rq_queues: str
) -> None:
    study = running_remote_study(alice)
    worker = Worker(services.issue_token(alice, "pi", study).secret)
    claim = worker.claim(n=3).json()
    for i, item in enumerate(claim["evaluations"]):
        worker.report(item["id"], claim["lease"]["id"], objectives=[10.0 + i, 5.0 - i])
    # The finish was put on the iterations queue; run it here as a worker would.
    services.run_iteration(study.pk, 0, job_id="finish")
    first = study.iterations.get(index=0)
    assert first.status == Iteration.Status.DONE and first.hypervolume is not None
    services.run_iteration(study.pk, 1, job_id="propose")
    assert study.iterations.get(index=1).status == Iteration.Status.EVALUATING
    assert study.evaluations.filter(status=Evaluation.Status.PENDING).count() == 2


@pytest.mark.django_db
def test_the_openapi_document_describes_every_route(client: Client) -> None:
    from django.urls import get_resolver

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    api = get_resolver().url_patterns
    routes = {
        "/"
        + str(p.pattern)
        .replace("<uuid:lease_id>", "{lease_id}")
        .replace("<int:evaluation_id>", "{evaluation_id}")
        for r in api
        if str(r.pattern) == "api/v1/"
        for p in r.url_patterns
    }
    assert routes == set(document["paths"])
    refs = json.dumps(document).count('"$ref"')
    assert refs > 5
    for name in json.dumps(document).split('"#/components/schemas/')[1:]:
        assert name.split('"')[0] in document["components"]["schemas"]


@pytest.mark.django_db
def test_the_openapi_request_bodies_are_the_schemas_the_requests_are_checked_against(client: Client) -> None:
    from hytnas_web.studies import urls_api
    from hytnas_web.studies.openapi import REF_TEMPLATE, openapi_path
    from hytnas_web.studies.views_api import OPERATIONS

    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    bodies = 0
    for pattern in urls_api.urlpatterns:
        operation = OPERATIONS[pattern.callback]
        described = document["paths"][openapi_path(pattern)][operation.method.lower()]
        if operation.body is None:
            assert "requestBody" not in described
            continue
        bodies += 1
        ref = described["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == REF_TEMPLATE.format(model=operation.body.__name__)
        derived = operation.body.model_json_schema(ref_template=REF_TEMPLATE)
        for name, schema in derived.pop("$defs", {}).items():
            assert schemas[name] == schema
        assert schemas[operation.body.__name__] == derived
    assert bodies == 3  # claims, lease extensions, reports


@pytest.mark.django_db
def test_the_openapi_document_lists_exactly_the_methods_each_route_answers(
    client: Client, worker: Worker
) -> None:
    from hytnas_web.studies import urls_api
    from hytnas_web.studies.openapi import openapi_path

    document = client.get("/api/v1/openapi.json").json()
    arguments = {"lease_id": "00000000-0000-0000-0000-000000000000", "evaluation_id": "1"}
    for pattern in urls_api.urlpatterns:
        path = openapi_path(pattern)
        url = "/api/v1" + path.format(**arguments)
        answered = set()
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            response = worker.client.generic(method, url, HTTP_AUTHORIZATION=f"Bearer {worker.secret}")
            if response.status_code != 405:
                answered.add(method.lower())
            else:
                assert response["Allow"] in {m.upper() for m in document["paths"][path]}
        assert answered == set(document["paths"][path]), path


def test_every_refusal_a_service_raises_has_an_http_status() -> None:
    from hytnas_web.studies.services.api_payloads import InvalidPayload
    from hytnas_web.studies.services.remote_work import Refused
    from hytnas_web.studies.views_api import REFUSALS

    def kinds(base: type[Exception]) -> list[type[Exception]]:
        return [base, *(k for sub in base.__subclasses__() for k in kinds(sub))]

    for kind in kinds(Refused)[1:] + kinds(InvalidPayload):
        assert kind in REFUSALS and 400 <= REFUSALS[kind][0] < 500, kind
