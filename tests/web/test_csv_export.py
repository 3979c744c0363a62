"""CSV exports: documented columns, values that round-trip, neutralised text, streaming, permissions."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import csv_export

EXPORTS = ("studies-export-evaluations", "studies-export-pareto", "studies-export-history")
ZDT1_COLUMNS = [
    "id",
    "iteration",
    "source",
    "status",
    "x0",
    "x1",
    "x2",
    "x3",
    "f1",
    "f2",
    "latency_backbone_ms",
    "latency_neck_ms",
    "latency_head_ms",
    "latency_postprocess_ms",
    "predicted_f1",
    "predicted_f2",
    "predicted_std_f1",
    "predicted_std_f2",
    "device",
    "device_json",
    "error",
    "latency_noisy",
    "latency_spread",
    "latency_runtime",
    "latency_runtime_settings",
]


def download(client: Any, name: str, study: Study) -> tuple[Any, str]:
    """GET one export; returns the response and its whole text."""
    response = client.get(reverse(name, args=[study.pk]))
    assert response.status_code == 200, response.status_code
    return response, b"".join(response.streaming_content).decode("utf-8")


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def ran_study(make_study: Callable[..., Study], owner: User, **changes: Any) -> Study:
    """A ZDT1 study run in-process through its initial design and one optimizer iteration."""
    study = make_study(owner, **changes)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    services.run_iteration(study.pk, 1, job_id="in-test")
    return study


def add_evaluation(study: Study, key: str, objectives: list[float] | None, **fields: Any) -> Evaluation:
    """A measured (or failed, with ``objectives=None``) evaluation written directly."""
    values = [float(v) for v in key.split("|")]
    return Evaluation.objects.create(
        study=study,
        key=key,
        x=values,
        architecture={f"x{i}": v for i, v in enumerate(values)},
        source=Evaluation.Source.INITIAL,
        status=Evaluation.Status.DONE if objectives is not None else Evaluation.Status.FAILED,
        objectives=objectives,
        **fields,
    )


def test_evaluations_export_has_the_documented_columns_and_every_evaluation(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = ran_study(make_study, alice)
    response, text = download(alice_client, "studies-export-evaluations", study)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="zdt1-study-{study.pk}-evaluations.csv"'
    header, *body = rows(text)
    assert header == ZDT1_COLUMNS
    evaluations = {e.pk: e for e in study.evaluations.select_related("iteration")}
    assert len(body) == len(evaluations) == 20
    for row in body:
        record = dict(zip(header, row, strict=True))
        evaluation = evaluations[int(record["id"])]
        assert int(record["iteration"]) == evaluation.iteration.index
        assert record["source"] == evaluation.source and record["status"] == evaluation.status
        assert [float(record[f"x{i}"]) for i in range(4)] == [
            evaluation.architecture[f"x{i}"] for i in range(4)
        ]
        assert [float(record["f1"]), float(record["f2"])] == evaluation.objectives  # exact: shortest repr
        if evaluation.iteration.index == 1:
            assert [float(record["predicted_f1"]), float(record["predicted_f2"])] == evaluation.predicted_mean
            assert evaluation.predicted_std is None  # the hytnas preset's XGBoost gives no std
            assert record["predicted_std_f1"] == record["predicted_std_f2"] == ""
        else:
            assert record["predicted_f1"] == record["predicted_std_f2"] == ""
        assert record["latency_backbone_ms"] == "" and record["error"] == ""


def test_objective_columns_carry_their_unit_and_stage_latency_has_its_own_columns(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    objectives = [
        {"name": "accuracy", "direction": "max", "unit": "%"},
        {"name": "latency", "direction": "min", "unit": "ms"},
    ]
    study = make_study(alice, objectives=objectives)
    add_evaluation(
        study,
        "0.5|0.5|0.5|0.5",
        [-75.2, 12.5],
        stage_latency={"backbone": 7.5, "neck": 3.0, "head": 2.0},
        predicted_mean=[70.0, 11.0],
        predicted_std=[1.5, 0.25],
    )
    _, text = download(alice_client, "studies-export-evaluations", study)
    header, row = rows(text)
    assert header[8:] == [
        "accuracy (%)",
        "latency (ms)",
        "latency_backbone_ms",
        "latency_neck_ms",
        "latency_head_ms",
        "latency_postprocess_ms",
        "predicted_accuracy",
        "predicted_latency",
        "predicted_std_accuracy",
        "predicted_std_latency",
        "device",
        "device_json",
        "error",
        "latency_noisy",
        "latency_spread",
        "latency_runtime",
        "latency_runtime_settings",
    ]
    assert row[8:] == ["-75.2", "12.5", "7.5", "3.0", "2.0", "", "70.0", "11.0", "1.5", "0.25", *[""] * 7]


def test_text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_stay_numbers(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    hostile = "=cmd|' /C calc'!A0"
    objectives = [
        {"name": hostile, "direction": "max", "unit": "%"},
        {"name": "@latency", "direction": "min", "unit": "ms"},
    ]
    study = make_study(alice, name=hostile, objectives=objectives)
    add_evaluation(study, "0.5|0.5|0.5|0.5", [-75.2, -0.25], predicted_mean=[-1e-05, 3.0])
    failures = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "plain"]
    for i, error in enumerate(failures):
        add_evaluation(study, f"0.{i + 1}|0.1|0.5|0.5", None, error=error)
    response, text = download(alice_client, "studies-export-evaluations", study)
    assert (
        response["Content-Disposition"] == f'attachment; filename="cmd-c-calca0-{study.pk}-evaluations.csv"'
    )
    header, measured, *failed = rows(text)
    assert header[8:10] == ["'=cmd|' /C calc'!A0 (%)", "'@latency (ms)"]
    assert measured[8:10] == ["-75.2", "-0.25"]  # negative numbers are numbers, never quoted
    assert measured[14] == "-1e-05"
    errors = [row[header.index("error")] for row in failed]
    assert errors == ["'" + e if e != "plain" else e for e in failures]
    for cell in (c for row in rows(text) for c in row):
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        assert not cell.startswith("-") or float(cell) <= 0


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-75.2, "-75.2"),
        (3, "3"),
        (0.1, "0.1"),
        (float("nan"), ""),
        (float("inf"), ""),
        (None, ""),
        (True, "true"),
        ("-75.2", "-75.2"),
        ("-1+2", "'-1+2"),
        ("-inf", "'-inf"),
        ("=1", "'=1"),
        ("relu", "relu"),
    ],
)
def test_cells_keep_numbers_as_numbers_and_quote_formula_text(value: Any, written: str) -> None:
    assert csv_export.cell(value) == written
    assert csv_export.unneutralise(written) == ("" if value is None else written.lstrip("'"))


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("'=quoted", "''=quoted"),
        ("'", "''"),
        ("''", "'''"),
        ("'s", "''s"),
        ("'plain", "''plain"),
        ("'-75.2", "''-75.2"),
        ("=1+2", "'=1+2"),
        ("'=1+2", "''=1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("it's", "it's"),
    ],
)
def test_text_starting_with_a_quote_gets_one_more_and_reads_back_exactly(text: str, written: str) -> None:
    assert csv_export.cell(text) == written
    assert csv_export.unneutralise(written) == text


def test_a_quote_a_person_typed_before_ordinary_text_is_kept_on_import() -> None:
    # Not written by the export (that would be ''s), so it is the person's own text.
    assert csv_export.unneutralise("'s") == "'s"
    # A spreadsheet's own way of marking formula-looking text as text is understood.
    assert csv_export.unneutralise("'=1+2") == "=1+2"


def test_the_export_streams_rows_in_chunks_without_loading_the_study(
    alice_client: Any, alice: User, make_study: Callable[..., Study], monkeypatch: pytest.MonkeyPatch
) -> None:
    study = make_study(alice)
    n = 3000
    Evaluation.objects.bulk_create(
        Evaluation(
            study=study,
            key=f"k{i}",
            x=[i / n, 0.0, 0.0, 0.0],
            architecture={"x0": i / n, "x1": 0.0, "x2": 0.0, "x3": 0.0},
            source=Evaluation.Source.INITIAL,
            status=Evaluation.Status.DONE,
            objectives=[i / n, 1 - i / n],
        )
        for i in range(n)
    )
    chunk_sizes: list[int | None] = []
    original_iterator = QuerySet.iterator

    def spy_iterator(self: QuerySet[Any], chunk_size: int | None = None) -> Any:
        chunk_sizes.append(chunk_size)
        return original_iterator(self, chunk_size=chunk_size)

    original_fetch_all = QuerySet._fetch_all

    def no_full_load(self: QuerySet[Any]) -> None:
        assert self.model is not Evaluation, "the export loaded every evaluation into memory"
        original_fetch_all(self)

    made: list[int] = []
    original_row = csv_export._evaluation_row

    def counting_row(*args: Any) -> list[Any]:
        made.append(1)
        return original_row(*args)

    monkeypatch.setattr(QuerySet, "iterator", spy_iterator)
    monkeypatch.setattr(csv_export, "_evaluation_row", counting_row)
    response = alice_client.get(reverse("studies-export-evaluations", args=[study.pk]))
    assert isinstance(response, StreamingHttpResponse)
    monkeypatch.setattr(QuerySet, "_fetch_all", no_full_load)
    content = iter(response.streaming_content)
    next(content), next(content)  # the header and the first row
    assert len(made) == 1  # rows are made as they are sent, not all beforehand
    lines = 2 + sum(1 for _ in content)
    assert lines == n + 1 and len(made) == n
    assert chunk_sizes == [csv_export.CHUNK_SIZE]


def test_the_pareto_export_holds_exactly_the_non_dominated_measured_rows(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    objectives = [
        {"name": "accuracy", "direction": "max", "unit": "%"},
        {"name": "latency", "direction": "min", "unit": "ms"},
    ]
    study = make_study(alice, objectives=objectives)
    front = [
        add_evaluation(study, "0.1|0|0|0", [80.0, 10.0]),
        add_evaluation(study, "0.2|0|0|0", [90.0, 20.0]),
        add_evaluation(study, "0.3|0|0|0", [70.0, 5.0]),
        add_evaluation(study, "0.4|0|0|0", [90.0, 20.0]),  # a tie with a front point is on the front
    ]
    add_evaluation(study, "0.5|0|0|0", [80.0, 15.0])  # dominated: same accuracy, slower
    add_evaluation(study, "0.6|0|0|0", [60.0, 30.0])  # dominated by every front point
    add_evaluation(study, "0.7|0|0|0", None, error="out of memory")  # failed: no point at all
    Evaluation.objects.create(
        study=study, key="0.8|0|0|0", x=[0.8, 0, 0, 0], architecture={}, source="optimizer", status="pending"
    )
    _, text = download(alice_client, "studies-export-pareto", study)
    header, *body = rows(text)
    assert header == services.evaluation_columns(study)
    assert sorted(int(row[0]) for row in body) == sorted(e.pk for e in front)
    assert services.export_pareto_csv(study) is not None


def test_the_pareto_export_of_an_empty_study_is_a_header(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    _, text = download(alice_client, "studies-export-pareto", study)
    assert rows(text) == [ZDT1_COLUMNS]


def test_history_export_has_hypervolume_timings_and_fidelity_per_iteration(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = ran_study(make_study, alice)
    response, text = download(alice_client, "studies-export-history", study)
    assert response["Content-Disposition"] == f'attachment; filename="zdt1-study-{study.pk}-history.csv"'
    header, *body = rows(text)
    assert header == [
        "index",
        "status",
        "n_evaluations",
        "hypervolume",
        "fit_seconds",
        "solve_seconds",
        "select_seconds",
        "evaluate_seconds",
        "kendall_tau_f1",
        "spearman_f1",
        "rmse_f1",
        "kendall_tau_f2",
        "spearman_f2",
        "rmse_f2",
        "error",
    ]
    iterations = list(study.iterations.order_by("index"))
    assert [int(row[0]) for row in body] == [it.index for it in iterations] == [0, 1, 2]
    for row, iteration in zip(body, iterations, strict=True):
        record = dict(zip(header, row, strict=True))
        assert record["status"] == iteration.status
        if iteration.status == "done":
            assert int(record["n_evaluations"]) == iteration.n_evaluations
            assert float(record["hypervolume"]) == iteration.hypervolume
            assert float(record["evaluate_seconds"]) == iteration.timings["evaluate"]
    first, second = body[0], dict(zip(header, body[1], strict=True))
    assert first[header.index("fit_seconds")] == "" and first[header.index("kendall_tau_f1")] == ""
    fidelity = {f["objective"]: f for f in iterations[1].fidelity}
    assert float(second["fit_seconds"]) == iterations[1].timings["fit"]
    assert float(second["rmse_f2"]) == fidelity["f2"]["rmse"]
    assert float(second["spearman_f1"]) == fidelity["f1"]["spearman_rho"]


@pytest.mark.parametrize("name", EXPORTS)
def test_bob_cannot_export_alices_study(
    bob_client: Any, alice: User, make_study: Callable[..., Study], name: str
) -> None:
    study = make_study(alice)
    assert bob_client.get(reverse(name, args=[study.pk])).status_code == 404


@pytest.mark.parametrize("name", EXPORTS)
def test_an_anonymous_visitor_is_sent_to_sign_in(
    client: Any, alice: User, make_study: Callable[..., Study], name: str
) -> None:
    study = make_study(alice)
    response = client.get(reverse(name, args=[study.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_answer_get_only(
    alice_client: Any, alice: User, make_study: Callable[..., Study], name: str
) -> None:
    study = make_study(alice)
    assert alice_client.post(reverse(name, args=[study.pk])).status_code == 405
