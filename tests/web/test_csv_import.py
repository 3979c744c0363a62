"""CSV import: export -> import round trip, validation by line and column, duplicates, limits, access."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.csv_export import cell
from hytnas_web.studies.services.csv_import import RowProblem
from search_engine.errors import DataError
from search_engine.evaluators.table import TableEvaluator

MIXED_SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "width", "type": "int", "low": 1, "high": 8},
            {"name": "act", "type": "choice", "choices": ["relu", "-gelu", "=x"]},
            {"name": "rate", "type": "float", "low": -1.0, "high": 1.0},
            {"name": "growth", "type": "choice", "choices": [1, 1.5, 2]},
        ]
    },
}
UNITS = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]
HEADER = "width,act,rate,growth,accuracy (%),latency (ms)\n"


@pytest.fixture
def mixed_study(alice: User, make_study: Callable[..., Study]) -> Study:
    """A study of int, text-choice, float and number-choice variables with units (import only)."""
    return make_study(alice, name="mixed", space=MIXED_SPACE, objectives=UNITS)


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode()


def problems(result: services.ImportResult) -> list[tuple[int | None, str]]:
    """(line, column) of every error, in the order reported."""
    return [(e.line, e.column) for e in result.errors]


def export_text(study: Study) -> str:
    return "".join(services.export_evaluations_csv(study))


def test_an_export_imports_into_a_new_study_as_the_same_values(
    alice: User, make_study: Callable[..., Study]
) -> None:
    source = make_study(alice, name="measured")
    services.start_study(source)
    services.run_iteration(source.pk, 0, job_id="in-test")
    services.run_iteration(source.pk, 1, job_id="in-test")
    board = {"name": "pi-5, bench", "processor": "Cortex-A76", "cpu_count": 4, "memory_mb": 8063}
    Evaluation.objects.filter(pk=source.evaluations.first().pk).update(
        stage_latency={"backbone": 7.25, "neck": 3.5, "head": 1.0}, device=board
    )
    target = make_study(alice, name="warm start")
    result = services.import_evaluations(target, export_text(source).encode())
    assert result.errors == [] and result.duplicates == []
    assert result.n_imported == result.n_rows == 20 and result.written
    target.refresh_from_db()
    assert target.version > 0  # the live dashboard sees the imported rows
    assert set(target.evaluations.values_list("version", flat=True)) == {target.version}
    originals = {e.key: e for e in source.evaluations.all()}
    imported = {e.key: e for e in target.evaluations.all()}
    assert imported.keys() == originals.keys()
    for key, evaluation in imported.items():
        original = originals[key]
        assert evaluation.source == Evaluation.Source.IMPORTED and evaluation.status == Evaluation.Status.DONE
        assert evaluation.iteration is None and evaluation.predicted_mean is None
        assert evaluation.objectives == original.objectives  # exact floats
        assert evaluation.stage_latency == original.stage_latency
        assert evaluation.device == original.device  # which machine measured it travels along
        assert evaluation.architecture == pytest.approx(original.architecture, rel=1e-12, abs=1e-15)
        assert evaluation.x == pytest.approx(original.x, rel=1e-12, abs=1e-15)
    # and back out again: the second export shows the same measured values
    again = {r.split(",")[4]: r.split(",")[8:10] for r in export_text(target).splitlines()[1:]}
    first = {r.split(",")[4]: r.split(",")[8:10] for r in export_text(source).splitlines()[1:]}
    assert again == first


def test_a_device_description_that_is_not_one_is_reported_at_its_column(mixed_study: Study) -> None:
    header = HEADER.rstrip("\n") + ",device_json\n"
    good = '1,relu,0.5,2,80,3,"{""name"": ""pi-5"", ""cpu_count"": 4}"'
    result = services.import_evaluations(
        mixed_study,
        csv_bytes(good, '2,relu,0.5,2,81,3,"[1, 2]"', "3,relu,0.5,2,82,3,{oops", header=header),
    )
    assert problems(result) == [(3, "device_json"), (4, "device_json")]
    assert "not a device description" in result.errors[0].reason
    assert not result.written and not mixed_study.evaluations.exists()
    fixed = services.import_evaluations(mixed_study, csv_bytes(good, header=header))
    assert fixed.written and mixed_study.evaluations.get().device == {"name": "pi-5", "cpu_count": 4}


def test_imported_rows_count_towards_the_budget_and_are_never_proposed_again(
    alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    lines = ["x0,x1,x2,x3,f1,f2\n"] + [f"0.{i},0.5,0.5,0.5,0.{i},{1 - i / 10}\n" for i in range(1, 6)]
    result = services.import_evaluations(study, "".join(lines).encode())
    assert result.n_imported == 5
    assert services.study_progress(study)["n_done"] == 5
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    assert study.evaluations.count() == 10  # the 5 imported and 5 sampled make the n_init of 10
    assert study.evaluations.filter(source=Evaluation.Source.IMPORTED).count() == 5
    services.run_iteration(study.pk, 1, job_id="in-test")
    services.run_iteration(study.pk, 2, job_id="in-test")
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED and study.evaluations.count() == 30  # the budget
    assert len(set(study.evaluations.values_list("key", flat=True))) == 30


def test_neutralised_text_and_negative_numbers_round_trip(mixed_study: Study, alice: User) -> None:
    data = csv_bytes("3,-gelu,-0.25,1.5,-75.2,12", "4,=x,0.5,2,80,-1e-3", "5,relu,-1,1,70,3")
    assert services.import_evaluations(mixed_study, data).n_imported == 3
    text = export_text(mixed_study)
    assert ",'-gelu,-0.25,1.5,-75.2,12.0," in text and ",'=x,0.5,2,80.0,-0.001," in text
    copy = Study.objects.create(
        owner=alice, name="copy", config={**mixed_study.config, "n_init": 1, "batch_size": 1, "budget": 10}
    )
    result = services.import_evaluations(copy, text.encode())
    assert result.n_imported == 3, result.errors
    architectures = sorted((e.architecture["width"], e.architecture["act"]) for e in copy.evaluations.all())
    assert architectures == [(3, "-gelu"), (4, "=x"), (5, "relu")]
    assert sorted(e.objectives for e in copy.evaluations.all()) == [
        [-75.2, 12.0],
        [70.0, 3.0],
        [80.0, -0.001],
    ]


QUOTED_CHOICES = ["'=quoted", "=1+2", "'plain", "'", "it's", "+x", "''=twice"]
QUOTED_SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "width", "type": "int", "low": 1, "high": 8},
            {"name": "'=act", "type": "choice", "choices": QUOTED_CHOICES},
        ]
    },
}
QUOTED_OBJECTIVES = [
    {"name": "'=score", "direction": "max", "unit": "'%"},
    {"name": "=cost", "direction": "min"},
]


def test_quoted_and_formula_looking_text_survives_export_then_import_exactly(
    alice: User, make_study: Callable[..., Study]
) -> None:
    source = make_study(alice, name="'=quoted", space=QUOTED_SPACE, objectives=QUOTED_OBJECTIVES)
    # Rows written the way the export writes them: every text cell neutralised, then CSV-quoted.
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow([cell("width"), cell("'=act"), cell("'=score ('%)"), cell("=cost")])
    writer.writerows([i + 1, cell(choice), 70 + i, i + 0.5] for i, choice in enumerate(QUOTED_CHOICES))
    first = services.import_evaluations(source, data.getvalue().encode())
    assert first.errors == [] and first.n_imported == len(QUOTED_CHOICES)
    stored = {e.architecture["width"]: e.architecture["'=act"] for e in source.evaluations.all()}
    assert stored == {i + 1: choice for i, choice in enumerate(QUOTED_CHOICES)}

    exported = export_text(source)
    copy = make_study(alice, name="copy", space=QUOTED_SPACE, objectives=QUOTED_OBJECTIVES)
    result = services.import_evaluations(copy, exported.encode())
    assert result.errors == [] and result.n_imported == len(QUOTED_CHOICES)
    copied = {e.architecture["width"]: e.architecture["'=act"] for e in copy.evaluations.all()}
    assert copied == stored
    # and the copy exports the same cells again (ids aside)
    assert [r.split(",")[4:] for r in export_text(copy).splitlines()] == [
        r.split(",")[4:] for r in exported.splitlines()
    ]


def test_objective_columns_may_omit_the_unit_and_extra_export_columns_are_ignored(mixed_study: Study) -> None:
    header = "id,iteration,source,status,width,act,rate,growth,accuracy,latency,predicted_accuracy,error\n"
    data = csv_bytes(
        "7,2,optimizer,done,1,relu,0,1,90,20,88,", "8,2,optimizer,failed,2,relu,0,1,,,,oom", header=header
    )
    result = services.import_evaluations(mixed_study, data)
    assert result.n_imported == 1 and result.errors == []
    assert result.skipped == [RowProblem(3, "status", "not a measurement (status failed)")]
    [evaluation] = mixed_study.evaluations.all()
    assert evaluation.architecture == {"width": 1, "act": "relu", "rate": 0.0, "growth": 1}
    assert evaluation.objectives == [90.0, 20.0]


def test_every_bad_value_is_reported_with_its_line_and_column(mixed_study: Study) -> None:
    data = csv_bytes(
        "3,relu,0.5,1.5,80,10",  # line 2: fine
        "abc,relu,0.5,1.5,80,10",  # line 3: not a number
        "9,tanh,2,1.5,80,10",  # line 4: out of range, unknown choice, out of range
        "3.5,relu,0.5,1.7,80,10",  # line 5: not whole, not a choice
        "3,relu,0.5,1.5,nan,inf",  # line 6: NaN and inf objectives
        "3,relu,0.5,1.5,,abc",  # line 7: empty and non-numeric objective
        ",relu,0.5,1.5,80,10",  # line 8: empty design value
        "3,relu,0.5,1.5,80",  # line 9: a cell short
        "",  # a blank line is no row
        "2,relu,0.5,2,80,10",  # line 11: fine
    )
    result = services.import_evaluations(mixed_study, data)
    assert problems(result) == [
        (3, "width"),
        (4, "width"),
        (4, "act"),
        (4, "rate"),
        (5, "width"),
        (5, "growth"),
        (6, "accuracy (%)"),
        (6, "latency (ms)"),
        (7, "accuracy (%)"),
        (7, "latency (ms)"),
        (8, "width"),
        (9, "latency (ms)"),
    ]
    reasons = {(e.line, e.column): e.reason for e in result.errors}
    assert reasons[(3, "width")] == "'abc' is not a number for 'width'"
    assert "'tanh' is not a choice of 'act'" in reasons[(4, "act")]
    assert "outside [-1.0, 1.0]" in reasons[(4, "rate")]
    assert "not a whole number" in reasons[(5, "width")]
    assert reasons[(6, "accuracy (%)")] == "'nan' is not a finite number"
    assert reasons[(7, "latency (ms)")] == "'abc' is not a number"
    assert reasons[(8, "width")] == "empty cell, expected a value"
    assert reasons[(9, "latency (ms)")] == "expected 6 values (one per header column), found 5"
    assert result.n_rows == 9 and result.error_lines == 7
    assert not result.written and result.n_imported == 0
    assert mixed_study.evaluations.count() == 0  # all or nothing: the two good rows are not written


def test_valid_rows_only_imports_the_good_rows_and_reports_the_rest(mixed_study: Study) -> None:
    data = csv_bytes("3,relu,0.5,1.5,80,10", "3,relu,5,1.5,80,10", "2,relu,0.5,2,81,11")
    result = services.import_evaluations(mixed_study, data, valid_rows_only=True)
    assert result.written and result.n_imported == 2
    assert problems(result) == [(3, "rate")]
    assert sorted(e.objectives[0] for e in mixed_study.evaluations.all()) == [80.0, 81.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("width,act,rate,growth,accuracy (%),latency (ms),depth\n", [(1, "depth")]),
        ("width,act,rate,accuracy (%),latency (ms)\n", [(1, "growth")]),
        ("width,act,rate,growth,accuracy (%)\n", [(1, "latency (ms)")]),
        ("width,act,rate,growth,accuracy (%),latency (ms),width\n", [(1, "width")]),
        ("width,act,rate,growth,accuracy (%),latency (s)\n", [(1, "latency (s)"), (1, "latency (ms)")]),
    ],
)
def test_unknown_missing_and_repeated_columns_are_header_errors(
    mixed_study: Study, header: str, expected: list[tuple[int, str]]
) -> None:
    result = services.import_evaluations(mixed_study, csv_bytes("3,relu,0.5,1.5,80,10", header=header))
    assert problems(result) == expected
    assert mixed_study.evaluations.count() == 0


def test_duplicates_in_the_file_and_in_the_study_are_reported_and_added_once(mixed_study: Study) -> None:
    assert services.import_evaluations(mixed_study, csv_bytes("3,relu,0.5,1.5,80,10")).n_imported == 1
    existing = mixed_study.evaluations.get()
    data = csv_bytes(
        "3,relu,0.5,1.5,79,9",  # line 2: already in the study
        "4,relu,0.5,1.5,80,10",  # line 3: new
        "4.0,relu,0.50,1.50,85,12",  # line 4: the same architecture as line 3
        "5,relu,0.5,2,80,10",  # line 5: new
    )
    result = services.import_evaluations(mixed_study, data)
    assert result.n_imported == 2 and result.n_duplicates == 2
    assert result.duplicates == [
        RowProblem(2, "", f"already in the study (evaluation {existing.pk})"),
        RowProblem(4, "", "the same architecture as line 3"),
    ]
    assert mixed_study.evaluations.count() == 3
    assert mixed_study.evaluations.get(key=existing.key).objectives == [80.0, 10.0]  # not overwritten
    again = services.import_evaluations(mixed_study, data)
    assert again.n_imported == 0 and again.n_duplicates == 4 and not again.written


def test_a_file_over_the_size_limit_is_refused_with_the_limit_in_words(
    mixed_study: Study, settings: Any
) -> None:
    settings.MAX_TABLE_UPLOAD_BYTES = 1024
    data = csv_bytes(*["3,relu,0.5,1.5,80,10"] * 60)
    assert len(data) > 1024
    result = services.import_evaluations(mixed_study, data)
    assert result.errors == [RowProblem(None, "", "the file is larger than 1.0 KB, the largest accepted")]
    assert mixed_study.evaluations.count() == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe\x00", "the file is not UTF-8 text (byte 1)"),
        (HEADER.encode(), "the file has a header but no rows"),
    ],
)
def test_files_that_are_not_a_table_are_refused_in_words(
    mixed_study: Study, data: bytes, reason: str
) -> None:
    assert services.import_evaluations(mixed_study, data).errors == [RowProblem(None, "", reason)]


def upload(data: bytes, name: str = "measured.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_import_page_offers_the_form_with_the_expected_columns(
    alice_client: Any, mixed_study: Study
) -> None:
    response = alice_client.get(reverse("studies-import", args=[mixed_study.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page
    assert "<code>accuracy (%)</code>" in page and "<code>width</code>" in page
    assert 'name="valid_rows_only"' in page


def test_a_good_upload_is_imported_and_leads_back_to_the_study(alice_client: Any, mixed_study: Study) -> None:
    response = alice_client.post(
        reverse("studies-import", args=[mixed_study.pk]),
        {"file": upload(csv_bytes("3,relu,0.5,1.5,80,10", "2,relu,0.5,2,81,11"))},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("studies-detail", args=[mixed_study.pk]), 302)]
    assert "Imported 2 measured architectures." in response.content.decode()
    assert mixed_study.evaluations.filter(source="imported").count() == 2


def test_a_bad_upload_shows_each_error_by_line_column_and_reason_and_imports_nothing(
    alice_client: Any, mixed_study: Study
) -> None:
    data = csv_bytes("3,relu,0.5,1.5,80,10", "3,<script>alert(1)</script>,0.5,1.5,80,10")
    response = alice_client.post(reverse("studies-import", args=[mixed_study.pk]), {"file": upload(data)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert '<td class="num">3</td><td><code>act</code></td>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)</script>" not in page
    assert mixed_study.evaluations.count() == 0


def test_choosing_valid_rows_imports_them_and_lists_what_was_skipped(
    alice_client: Any, mixed_study: Study
) -> None:
    data = csv_bytes("3,relu,0.5,1.5,80,10", "3,relu,9,1.5,80,10", "3,relu,0.5,1.5,80,10")
    response = alice_client.post(
        reverse("studies-import", args=[mixed_study.pk]), {"file": upload(data), "valid_rows_only": "on"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported 1 measured architecture; 1 duplicate not added; 1 row with errors skipped." in page
    assert '<td class="num">3</td><td><code>rate</code></td>' in page
    assert "the same architecture as line 2" in page
    assert mixed_study.evaluations.count() == 1


def test_an_upload_over_the_limit_is_refused_by_the_form(
    alice_client: Any, mixed_study: Study, settings: Any
) -> None:
    settings.MAX_TABLE_UPLOAD_BYTES = 1024
    data = csv_bytes(*["3,relu,0.5,1.5,80,10"] * 60)
    response = alice_client.post(reverse("studies-import", args=[mixed_study.pk]), {"file": upload(data)})
    assert response.status_code == 400
    assert "the largest accepted is 1.0\xa0KB" in response.content.decode()
    assert mixed_study.evaluations.count() == 0


def test_bob_cannot_see_or_import_into_alices_study(bob_client: Any, mixed_study: Study) -> None:
    url = reverse("studies-import", args=[mixed_study.pk])
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url, {"file": upload(csv_bytes("3,relu,0.5,1.5,80,10"))}).status_code == 404
    assert mixed_study.evaluations.count() == 0


def test_an_anonymous_visitor_is_sent_to_sign_in(client: Any, mixed_study: Study) -> None:
    response = client.post(
        reverse("studies-import", args=[mixed_study.pk]), {"file": upload(csv_bytes("3,relu,0.5,1.5,80,10"))}
    )
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert mixed_study.evaluations.count() == 0


def test_an_upload_without_the_csrf_token_is_refused(alice: User, mixed_study: Study) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("studies-import", args=[mixed_study.pk])
    response = client.post(url, {"file": upload(csv_bytes("3,relu,0.5,1.5,80,10"))})
    assert response.status_code == 403
    assert mixed_study.evaluations.count() == 0


@pytest.mark.parametrize(
    "bad_line",
    [
        "abc,relu,0.5,1.5,80,10",  # a design value that is not a number
        "3,tanh,0.5,1.5,80,10",  # not a choice
        "3,relu,0.5,1.5,inf,10",  # an infinite measurement
        "3,relu,0.5,1.5,80,",  # an empty measurement
        ",relu,0.5,1.5,80,10",  # an empty design value
        "3,relu,0.5,1.5,80",  # a cell short
    ],
)
def test_the_import_and_a_measured_table_refuse_a_bad_cell_with_the_same_error(
    mixed_study: Study, bad_line: str
) -> None:
    good = [f"{w},relu,0.5,1.5,{80 + w},{10 + w}" for w in range(1, 9)] + ["1,-gelu,0,2,70,9"] * 3
    data = csv_bytes(*good[:4], bad_line, *good[4:])
    [problem] = services.import_evaluations(mixed_study, data).errors
    with pytest.raises(DataError) as error:
        TableEvaluator([{"text": data.decode(), "name": "measured.csv"}], objectives=UNITS, space=MIXED_SPACE)
    assert problem.line == 6 and (problem.line, problem.column) == (error.value.line, error.value.column)
    assert error.value.message == f"{problem.reason} (table measured.csv)"
