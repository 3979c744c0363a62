"""JSON and CSV input past the documented limits: refused with a 4xx naming the limit, nothing written.

The limits (README "Input limits"): worker API bodies of at most 256 KiB and 8 levels of arrays and
objects; an imported ``device_json`` cell of at most 32 KiB (and 8 levels); JSON typed into the study
form of at most 256 KiB and 32 levels.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from hytnas_web.studies.services import json_input
from hytnas_web.studies.services.json_input import JSONLimitError, nesting_depth
from tests.web.study_form_data import form_post_data, measured_csv, small_zdt1
from tests.web.test_worker_api import Worker, running_remote_study, written_state

DEEP_6KB = "[" * 3000 + "]" * 3000  # what made the API answer 500 (RecursionError) before


@pytest.fixture
def study(alice: User) -> Study:
    return running_remote_study(alice)


@pytest.fixture
def worker(alice: User, study: Study) -> Worker:
    return Worker(services.issue_token(alice, "pi-5", study).secret)


def nested(depth: int, leaf: str = "1") -> str:
    """``depth`` levels, objects and arrays alternating: {"a": [{"a": [ ... ]}]}."""
    text = leaf
    for level in range(depth):
        text = f'{{"a": {text}}}' if level % 2 else f"[{text}]"
    return text


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP_6KB, '{"device": ' + nested(20) + "}", nested(9)])
def test_a_deeply_nested_report_is_refused_naming_the_limit_and_nothing_is_written(
    study: Study, worker: Worker, body: str
) -> None:
    claim = worker.claim().json()
    evaluation = claim["evaluations"][0]["id"]
    before = written_state(study)
    response = worker.post(f"evaluations/{evaluation}/report", body)
    assert response.status_code == 400
    assert response.json()["error"] == "the body is nested deeper than 8 levels of arrays and objects"
    assert written_state(study) == before
    # the same worker's proper report still goes through
    assert worker.report(evaluation, claim["lease"]["id"]).status_code == 201


@pytest.mark.django_db
def test_a_deeply_nested_claim_is_refused_and_no_work_is_handed_out(study: Study, worker: Worker) -> None:
    before = written_state(study)
    response = worker.post("claims", '{"max_evaluations": 1, "device": ' + "[" * 5000 + "]" * 5000 + "}")
    assert response.status_code == 400 and "nested deeper than 8 levels" in response.json()["error"]
    assert written_state(study) == before


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_refused_with_413(study: Study, worker: Worker) -> None:
    response = worker.post("claims", json.dumps({"device": {"name": "x" * (256 * 1024)}}))
    assert response.status_code == 413 and response.json()["error"] == "the body is larger than 256 KiB"


@pytest.mark.django_db
def test_brackets_inside_strings_do_not_count_as_nesting(study: Study, worker: Worker) -> None:
    claim = worker.claim().json()
    evaluation, lease = claim["evaluations"][0]["id"], claim["lease"]["id"]
    response = worker.post(
        f"evaluations/{evaluation}/report",
        {"lease": lease, "status": "failed", "error": "[{" * 2000 + ' \\" ' + "}]" * 2000},
    )
    assert response.status_code == 201, response.json()
    assert study.evaluations.get(pk=evaluation).error.startswith("[{[{")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "field"),
    [("1e999", "metrics.params"), ("9" * 400, "metrics.params"), ("-" + "9" * 5000, None)],
)
def test_a_number_too_large_for_a_float_is_refused_in_words(
    study: Study, worker: Worker, number: str, field: str | None
) -> None:
    claim = worker.claim().json()
    evaluation, lease = claim["evaluations"][0]["id"], claim["lease"]["id"]
    before = written_state(study)
    report = json.dumps({"lease": lease, "status": "done", "objectives": [1, 2], "metrics": {"params": 0}})
    body = report.replace('"params": 0', f'"params": {number}')
    response = worker.post(f"evaluations/{evaluation}/report", body)
    assert response.status_code == 400 and response.json()["field"] == field
    assert len(response.json()["error"]) < 200  # the number is not echoed whole
    assert written_state(study) == before


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "\\"[["]', 1), ('"\\\\"', 0)],
)
def test_nesting_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth
    assert nesting_depth(text) == _python_depth(json.loads(text))


def _python_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_python_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_python_depth(v) for v in value), default=0)
    return 0


def test_the_scan_stops_at_the_first_level_past_the_limit_and_survives_broken_strings() -> None:
    with pytest.raises(JSONLimitError, match="nested deeper than 32 levels"):
        nesting_depth("[" * 1_000_000)
    # An unterminated string full of escaped quotes: the scan ends, and the parser says what is wrong.
    broken = '["' + '\\"' * 100_000
    assert nesting_depth(broken) == 1
    with pytest.raises(ValueError, match="Unterminated string"):
        json_input.loads(broken, max_bytes=10**6)


def test_loads_refuses_more_bytes_than_allowed_and_nan() -> None:
    with pytest.raises(JSONLimitError, match="the cell is larger than 1 KiB, the largest accepted"):
        json_input.loads("[" + "1," * 600 + "1]", max_bytes=1024, what="the cell")
    with pytest.raises(ValueError, match="NaN is not a finite number"):
        json_input.loads("[NaN]", max_bytes=1024)


# --- CSV import: the device_json column ---

HEADER = "x0,x1,x2,x3,f1,f2,device_json\n"


def device_row(device_json: str) -> str:
    return "0.1,0.5,0.5,0.5,0.2,0.8," + '"' + device_json.replace('"', '""') + '"\n'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (DEEP_6KB, "the cell is nested deeper than 8 levels of arrays and objects"),
        ('{"name": "' + "x" * 40_000 + '"}', "the cell is larger than 32 KiB, the largest accepted"),
    ],
)
def test_a_device_json_cell_past_a_limit_is_an_error_at_its_line_and_nothing_is_written(
    alice: User, make_study: Any, cell: str, reason: str
) -> None:
    study = make_study(alice)
    good = device_row('{"name": "pi-5"}').replace("0.1,", "0.3,", 1)
    result = services.import_evaluations(study, (HEADER + good + device_row(cell)).encode())
    assert [(e.line, e.column, e.reason) for e in result.errors] == [
        (3, "device_json", f"not a device description: {reason}")
    ]
    assert not result.written and not study.evaluations.exists()


@pytest.mark.django_db
def test_the_import_page_answers_400_naming_the_limit(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice)
    upload = SimpleUploadedFile("deep.csv", (HEADER + device_row(DEEP_6KB)).encode(), "text/csv")
    response = alice_client.post(reverse("studies-import", args=[study.pk]), {"file": upload})
    assert response.status_code == 400
    assert b"nested deeper than 8 levels of arrays and objects" in response.content
    assert not study.evaluations.exists()


# --- The study form's JSON fields ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (DEEP_6KB, "it is nested deeper than 32 levels of arrays and objects"),
        (nested(33), "it is nested deeper than 32 levels of arrays and objects"),
        ('[{"name": "' + "x" * 300_000 + '"}]', "it is larger than 256 KiB, the largest accepted"),
    ],
)
def test_a_custom_space_past_a_limit_is_a_field_error_naming_it(
    alice_client: Any, spec: str, reason: str
) -> None:
    data = form_post_data(
        alice_client, **small_zdt1(evaluator="table", space="custom", **{"space-custom-spec": spec})
    )
    response = alice_client.post(reverse("studies-create"), data)
    assert response.status_code == 200  # the form again, with the message beside the field
    assert response.context["form"].errors["space-custom-spec"] == [f"Enter valid JSON: {reason}"]
    assert not Study.objects.exists()


@pytest.mark.django_db
def test_a_measured_table_with_a_cell_over_the_csv_limit_is_an_error_at_its_line(alice_client: Any) -> None:
    from tests.web.test_create_view import field_errors, post, table_study

    data = table_study(alice_client)
    huge = measured_csv("accuracy").decode().replace("relu", "r" * 200_000, 1).encode()
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", huge, "text/csv")
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"), "text/csv")
    errors = field_errors(post(alice_client, data), "tables-0-file")
    assert any("line 3" in e and "field larger than field limit (131072)" in e for e in errors), errors
    assert not Study.objects.exists()
