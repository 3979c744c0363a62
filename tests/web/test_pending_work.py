"""Pending work of an external study done by hand: the CSV round trip, bad files, typing in, leases, owners.

Through Django's test client on small real external studies (3 initial architectures, then batches
of 2, budget 5); the browser test is in test_pending_work_browser.py.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.external_studies import custom_space, make_external_study
from tests.web.test_external_api import running_external_study
from tests.web.test_worker_api import Worker, written_state

ACCURACY, LATENCY = "accuracy (%)", "latency (ms)"


@pytest.fixture
def study(alice: Any) -> Study:
    return running_external_study(alice, space=custom_space(), metrics=["params"])


def download(client: Any, study: Study) -> list[dict[str, str]]:
    response = client.get(reverse("studies-pending-csv", args=[study.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client: Any, study: Study, data: bytes) -> Any:
    file = io.BytesIO(data)
    file.name = "measured.csv"
    return client.post(reverse("studies-pending-upload", args=[study.pk]), {"file": file})


def fill(rows: list[dict[str, str]], start: float = 70.0) -> list[dict[str, str]]:
    for i, row in enumerate(rows):
        row[ACCURACY], row[LATENCY], row["metric_params"] = str(start + i), str(5.0 - i), str(1000 * (i + 1))
    return rows


def problems(response: Any) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.column, p.reason) for p in response.context["result"].errors]


@pytest.mark.django_db
def test_the_pending_csv_lists_each_pending_architecture_with_empty_measured_columns(
    alice_client: Any, study: Study
) -> None:
    rows = download(alice_client, study)
    pending = study.evaluations.filter(status=Evaluation.Status.PENDING).order_by("id")
    assert [int(r["id"]) for r in rows] == [e.pk for e in pending]
    assert list(rows[0]) == [
        "id",
        "key",
        "layers",
        "width",
        "learning_rate",
        "activation",
        ACCURACY,
        LATENCY,
        "latency_backbone_ms",
        "latency_neck_ms",
        "latency_head_ms",
        "latency_postprocess_ms",
        "metric_params",
        "error",
    ]
    first = pending[0]
    assert rows[0]["key"] == first.key and rows[0]["activation"] == first.architecture["activation"]
    assert int(rows[0]["layers"]) == first.architecture["layers"]
    assert all(rows[0][c] == "" for c in (ACCURACY, LATENCY, "metric_params", "error"))


@pytest.mark.django_db(transaction=True)
def test_a_filled_in_csv_records_the_rows_finishes_the_iteration_and_the_study_completes(
    alice: Any, alice_client: Any, rq_queues: str
) -> None:
    study = running_external_study(alice, space=custom_space(), metrics=["params"])
    rows = fill(download(alice_client, study))
    rows[2][ACCURACY] = rows[2][LATENCY] = rows[2]["metric_params"] = ""
    rows[2]["error"] = "diverged at epoch 3"
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 302, problems(response)
    first, second, third = study.evaluations.order_by("id")
    assert first.status == Evaluation.Status.DONE and first.objectives == [70.0, 5.0]
    assert first.metrics == {"params": 1000}
    assert first.device["source"] == "entered by hand" and first.device["user"] == "alice"
    assert third.status == Evaluation.Status.FAILED and third.error == "diverged at epoch 3"
    # The last result put the iteration's finish on its queue; run it as the worker would.
    services.run_iteration(study.pk, 0, job_id="finish")
    assert study.iterations.get(index=0).status == Iteration.Status.DONE
    services.run_iteration(study.pk, 1, job_id="propose")
    proposed = download(alice_client, study)
    assert len(proposed) == 2 and {r["id"] for r in proposed}.isdisjoint({str(first.pk), str(second.pk)})
    assert upload(alice_client, study, as_csv(fill(proposed, start=80.0))).status_code == 302
    services.run_iteration(study.pk, 1, job_id="finish")
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    assert study.evaluations.filter(status=Evaluation.Status.DONE).count() == 4


@pytest.mark.django_db
def test_blank_rows_stay_pending_and_a_row_measured_meanwhile_is_reported_not_overwritten(
    alice: Any, alice_client: Any, study: Study
) -> None:
    rows = fill(download(alice_client, study))
    rows[1][ACCURACY] = rows[1][LATENCY] = rows[1]["metric_params"] = ""
    worker = Worker(services.issue_token(alice, "notebook", study).secret)
    claim = worker.claim(evaluator="external").json()
    measured = claim["evaluations"][0]["id"]
    assert measured == int(rows[0]["id"])
    worker.report(measured, claim["lease"]["id"], objectives={"accuracy": 50.0, "latency": 9.0})
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 200
    result = response.context["result"]
    assert result.written and result.n_done == 1 and result.n_blank == 1
    assert [(p.line, f"evaluation {measured} is already done" in p.reason) for p in result.not_pending] == [
        (2, True)
    ]
    assert Evaluation.objects.get(pk=measured).objectives == [50.0, 9.0]  # the worker's, kept
    assert Evaluation.objects.get(pk=rows[1]["id"]).status == Evaluation.Status.PENDING
    assert Evaluation.objects.get(pk=rows[2]["id"]).objectives == [72.0, 3.0]


def _other_study_row(alice: Any, rows: list[dict[str, str]]) -> None:
    other = running_external_study(alice, name="Other", space=custom_space(), metrics=["params"])
    rows[1]["id"] = str(other.evaluations.order_by("id")[0].pk)
    rows[1]["key"] = ""


BAD_FILES = {
    "a word for a number": (
        lambda alice, rows: rows[0].update({LATENCY: "fast"}),
        (2, LATENCY, "not a number"),
    ),
    "NaN": (lambda alice, rows: rows[1].update({ACCURACY: "nan"}), (3, ACCURACY, "is not a finite number")),
    "a missing objective": (
        lambda alice, rows: rows[2].update({LATENCY: ""}),
        (4, LATENCY, "fill in every objective, or give an error"),
    ),
    "a negative latency": (
        lambda alice, rows: rows[0].update({"latency_neck_ms": "-1"}),
        (2, "latency_neck_ms", "must be at least 0"),
    ),
    "an error with objectives": (
        lambda alice, rows: rows[0].update({"error": "crashed"}),
        (2, ACCURACY, "a row with an error carries no objectives"),
    ),
    "another study's architecture": (_other_study_row, (3, "id", "this study has no evaluation")),
    "a key of another architecture": (
        lambda alice, rows: rows[0].update({"key": rows[1]["key"]}),
        (2, "key", "the row names two architectures"),
    ),
    "design values of another architecture": (
        lambda alice, rows: rows[0].update({"layers": str(1 + int(rows[0]["layers"]) % 8)}),
        (2, "layers", "the design values are not those of evaluation"),
    ),
    "a duplicated row": (
        lambda alice, rows: rows.append(dict(rows[0])),
        (5, "id", "line 2 already gives its result"),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_a_bad_row_is_located_by_line_and_column_and_nothing_is_written(
    alice: Any, alice_client: Any, study: Study, case: str
) -> None:
    spoil, (line, column, reason) = BAD_FILES[case]
    rows = fill(download(alice_client, study))
    spoil(alice, rows)
    before = written_state(study)
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 400
    found = problems(response)
    assert any(p[0] == line and p[1] == column and reason in p[2] for p in found), found
    assert written_state(study) == before
    content = response.content.decode()
    assert "Nothing was recorded" in content and f"<code>{column}</code>" in content


@pytest.mark.django_db
def test_an_unknown_or_missing_column_refuses_the_file(alice_client: Any, study: Study) -> None:
    rows = fill(download(alice_client, study))
    for row in rows:
        row["energy"] = "1"
        del row[LATENCY]
    before = written_state(study)
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 400
    found = problems(response)
    assert (1, "energy", "unknown column") in [(p[0], p[1], p[2][:14]) for p in found]
    assert (1, LATENCY, "missing column: an objective of the study") in found
    assert written_state(study) == before


@pytest.mark.django_db
def test_a_file_with_nothing_filled_in_says_so(alice_client: Any, study: Study) -> None:
    response = upload(alice_client, study, as_csv(download(alice_client, study)))
    assert response.status_code == 400
    assert problems(response) == [(None, "", "no row is filled in: every evaluation stays pending")]


@pytest.mark.django_db
def test_a_row_typed_into_the_page_is_recorded_by_hand(alice_client: Any, study: Study) -> None:
    evaluation = study.evaluations.order_by("id")[0]
    url = reverse("studies-pending-entry", args=[study.pk, evaluation.pk])
    page = alice_client.get(url)
    assert page.status_code == 200 and evaluation.key in page.content.decode()
    response = alice_client.post(url, {"objective_0": "71.5", "objective_1": "4.25", "latency_neck": "1.5"})
    assert response.status_code == 302 and response["Location"] == reverse("studies-detail", args=[study.pk])
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.DONE and evaluation.objectives == [71.5, 4.25]
    assert evaluation.stage_latency == {"neck": 1.5}
    assert evaluation.device == {
        "name": "entered by hand",
        "source": "entered by hand",
        "user": "alice",
        "via": "page",
    }
    # Once recorded the row is no longer pending: the form sends to the architecture's page.
    again = alice_client.post(url, {"objective_0": "1", "objective_1": "1"})
    assert again.status_code == 302 and again["Location"].endswith(f"/architectures/{evaluation.pk}/")
    evaluation.refresh_from_db()
    assert evaluation.objectives == [71.5, 4.25]


@pytest.mark.django_db
def test_a_failure_can_be_typed_in_with_its_reason(alice_client: Any, study: Study) -> None:
    evaluation = study.evaluations.order_by("id")[0]
    url = reverse("studies-pending-entry", args=[study.pk, evaluation.pk])
    assert alice_client.post(url, {"error": "out of memory at batch 64"}).status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.FAILED and evaluation.error == "out of memory at batch 64"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"objective_0": "fast", "objective_1": "4"}, "objective_0", "is not a number"),
        ({"objective_0": "inf", "objective_1": "4"}, "objective_0", "finite"),
        ({"objective_0": "70"}, "objective_1", "fill in every objective, or give an error."),
        (
            {"objective_0": "70", "objective_1": "4", "latency_head": "-2"},
            "latency_head",
            "Must be at least 0",
        ),
        (
            {"objective_0": "70", "objective_1": "4", "error": "crashed"},
            "objective_0",
            "carries no objectives",
        ),
        ({}, None, "Fill in every objective, or say why the architecture failed."),
    ],
)
def test_a_bad_typed_value_is_shown_at_its_field_and_nothing_is_written(
    alice_client: Any, study: Study, data: dict[str, str], field: str | None, message: str
) -> None:
    evaluation = study.evaluations.order_by("id")[0]
    before = written_state(study)
    response = alice_client.post(reverse("studies-pending-entry", args=[study.pk, evaluation.pk]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors.get(field or "__all__")
    assert errors and any(message in e for e in errors), response.context["form"].errors
    assert written_state(study) == before


@pytest.mark.django_db
def test_a_leased_row_may_be_typed_in_and_the_workers_later_report_is_refused_as_late(
    alice: Any, alice_client: Any, study: Study
) -> None:
    worker = Worker(services.issue_token(alice, "notebook", study).secret)
    claim = worker.claim(evaluator="external").json()
    evaluation_id, lease = claim["evaluations"][0]["id"], claim["lease"]["id"]
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "notebook on" in page and "A result may be entered for an architecture a worker holds" in page
    url = reverse("studies-pending-entry", args=[study.pk, evaluation_id])
    assert alice_client.post(url, {"objective_0": "66", "objective_1": "7"}).status_code == 302
    late = worker.report(evaluation_id, lease, objectives={"accuracy": 1.0, "latency": 1.0})
    assert late.status_code == 409 and "late" in late.json()["error"]
    assert Evaluation.objects.get(pk=evaluation_id).objectives == [66.0, 7.0]


@pytest.mark.django_db
def test_the_study_page_lists_the_pending_architectures_and_the_live_view_updates_them(
    alice_client: Any, study: Study
) -> None:
    page = alice_client.get(reverse("studies-detail", args=[study.pk]))
    pending = page.context["pending"]
    assert pending.n_pending == 3 and pending.n_held == 0
    content = page.content.decode()
    assert '<strong data-count="pending">3</strong> architectures wait' in content
    assert reverse("studies-pending-csv", args=[study.pk]) in content
    evaluation = study.evaluations.order_by("id")[0]
    assert f'data-pending="{evaluation.pk}"' in content and "layers=" in content
    version = page.context["dashboard"]["version"]
    entry = reverse("studies-pending-entry", args=[study.pk, evaluation.pk])
    alice_client.post(entry, {"objective_0": "66", "objective_1": "7"})
    data = alice_client.get(reverse("studies-dashboard-data", args=[study.pk]), {"since": version}).json()
    assert '<strong data-count="pending">2</strong>' in data["html"]["pending"]
    assert f'data-pending="{evaluation.pk}"' not in data["html"]["pending"]


@pytest.mark.django_db
def test_a_study_not_measured_by_hand_has_no_pending_pages(
    alice_client: Any, make_study: Any, alice: Any
) -> None:
    zdt1 = make_study(alice)
    assert alice_client.get(reverse("studies-detail", args=[zdt1.pk])).context["pending"] is None
    assert alice_client.get(reverse("studies-pending-csv", args=[zdt1.pk])).status_code == 404
    assert alice_client.get(reverse("studies-pending-upload", args=[zdt1.pk])).status_code == 404


@pytest.mark.django_db
def test_bob_gets_404_for_alices_pending_work_and_writes_nothing(bob_client: Any, study: Study) -> None:
    evaluation = study.evaluations.order_by("id")[0]
    before = written_state(study)
    rows = fill([{"id": str(evaluation.pk), ACCURACY: "", LATENCY: ""}])
    assert bob_client.get(reverse("studies-pending-csv", args=[study.pk])).status_code == 404
    assert bob_client.get(reverse("studies-pending-upload", args=[study.pk])).status_code == 404
    assert upload(bob_client, study, as_csv(rows)).status_code == 404
    entry = reverse("studies-pending-entry", args=[study.pk, evaluation.pk])
    assert bob_client.get(entry).status_code == 404
    assert bob_client.post(entry, {"objective_0": "1", "objective_1": "1"}).status_code == 404
    assert written_state(study) == before


@pytest.mark.django_db
def test_an_evaluation_of_another_study_is_404_on_the_entry_page(
    alice: Any, alice_client: Any, study: Study
) -> None:
    other = make_external_study(alice, name="Other draft")
    services.start_study(other)
    services.run_iteration(other.pk, 0, job_id="test")
    foreign = other.evaluations.order_by("id")[0]
    assert alice_client.get(reverse("studies-pending-entry", args=[study.pk, foreign.pk])).status_code == 404


@pytest.mark.django_db
def test_rows_are_matched_by_key_or_else_by_design_values_when_the_id_column_is_gone(
    alice_client: Any, study: Study
) -> None:
    rows = fill(download(alice_client, study))
    for row in rows:
        del row["id"]
    rows[1]["key"] = ""  # matched by its design values
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 302, problems(response)
    assert [e.objectives for e in study.evaluations.order_by("id")] == [[70.0, 5.0], [71.0, 4.0], [72.0, 3.0]]


@pytest.mark.django_db
def test_cells_a_spreadsheet_would_run_are_quoted_and_read_back_as_written(
    alice: Any, alice_client: Any
) -> None:
    variables = [
        {"name": "layers", "type": "int", "low": 1, "high": 8},
        {"name": "mode", "type": "choice", "choices": ["=1+1", "@plain"]},
    ]
    study = running_external_study(alice, space={"name": "generic", "params": {"variables": variables}})
    response = alice_client.get(reverse("studies-pending-csv", args=[study.pk]))
    text = b"".join(response.streaming_content).decode()
    assert "'=1+1" in text or "'@plain" in text
    assert ",=1+1" not in text and ",@plain" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        del row["id"], row["key"]  # matched by the design values, read back unquoted
        row[ACCURACY], row[LATENCY] = "", ""
        row["error"] = '\'=HYPERLINK("x")'
    assert upload(alice_client, study, as_csv(rows)).status_code == 302
    evaluation = study.evaluations.order_by("id")[0]
    assert evaluation.status == Evaluation.Status.FAILED and evaluation.error == '=HYPERLINK("x")'


def readme_example() -> list[dict[str, str]]:
    """The filled-in pending-work CSV that README.md ("By hand") shows."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- pending-work-example -->", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]
    return list(csv.DictReader(io.StringIO(block)))


@pytest.mark.django_db
def test_the_readme_example_has_the_downloaded_columns_and_records_as_it_says(
    alice_client: Any, study: Study
) -> None:
    example = readme_example()
    downloaded = download(alice_client, study)
    assert list(example[0]) == list(downloaded[0])
    # The example's measured cells on this study's own pending architectures.
    identity = ["id", "key", "layers", "width", "learning_rate", "activation"]
    rows = [
        {**filled, **{c: pending[c] for c in identity}}
        for filled, pending in zip(example, downloaded, strict=True)
    ]
    response = upload(alice_client, study, as_csv(rows))
    assert response.status_code == 302, problems(response)
    done, failed, blank = study.evaluations.order_by("id")
    assert done.objectives == [71.3, 12.5] and done.metrics == {"params": 210000}
    assert failed.status == Evaluation.Status.FAILED and failed.error == "out of memory at batch size 64"
    assert blank.status == Evaluation.Status.PENDING


@pytest.mark.django_db
def test_the_upload_page_names_the_columns_and_refuses_a_file_that_is_not_text(
    alice_client: Any, study: Study
) -> None:
    page = alice_client.get(reverse("studies-pending-upload", args=[study.pk]))
    assert page.status_code == 200
    assert "<code>metric_params</code>" in page.content.decode()
    before = written_state(study)
    response = upload(alice_client, study, b"id,accuracy\xff\n")
    assert response.status_code == 400
    assert problems(response) == [(None, "", "the file is not UTF-8 text (byte 12)")]
    assert written_state(study) == before


@pytest.mark.django_db
def test_the_pending_pages_need_a_signed_in_user(client: Any, study: Study) -> None:
    evaluation = study.evaluations.order_by("id")[0]
    for url in (
        reverse("studies-pending-csv", args=[study.pk]),
        reverse("studies-pending-upload", args=[study.pk]),
        reverse("studies-pending-entry", args=[study.pk, evaluation.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={url}"
