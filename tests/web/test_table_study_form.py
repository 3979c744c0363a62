"""The study form's table evaluator: a regressor per objective; the HyT-NAS study as the command line's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.forms.rows import TABLE_SLOTS
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.kept_tables import FORMS_PER_SESSION, KeptTable, KeptTables, data_rows
from hytnas_web.studies.services.table_fit import evaluator_fit
from search_engine.evaluators.table import TableEvaluator
from search_engine.setups import HYTNAS_TABLE, study_config
from tests.web.study_form_data import (
    CUSTOM_SPACE,
    as_run,
    form_post_data,
    hytnas_table_study,
    hytnas_tables,
    measured_csv,
    small_zdt1,
    table_study,
)

CREATE = reverse("studies-create")


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), "text/csv")


def test_a_hytnas_table_study_from_the_form_is_the_command_lines(alice_client: Any, alice: Any) -> None:
    files = hytnas_tables()
    data = form_post_data(alice_client, **hytnas_table_study())
    data["tables-0-file"] = upload(files["accuracy"])
    data["tables-1-file"] = upload(files["latency"])
    response = alice_client.post(CREATE, data)
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    stored = services.study_config(study).to_dict()
    command_line = study_config(
        HYTNAS_TABLE, "hytnas", data_dir=files["accuracy"].parent, budget=300
    ).to_dict()
    assert stored["evaluator"]["params"]["objective_models"] == {
        "accuracy": "xgboost-linear",
        "latency": "xgboost",
    }
    assert as_run(stored)["evaluator"] == as_run(command_line)["evaluator"]
    assert as_run(stored) == as_run(command_line)


def test_a_regressor_chosen_for_one_objective_is_stored_and_fitted(alice_client: Any, alice: Any) -> None:
    models = {
        "objectives-0-model": "xgboost-dart",
        "objectives-1-model": "",
        "evaluator-table-model": "xgboost-linear",
    }
    data = table_study(alice_client, **models)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    assert alice_client.post(CREATE, data).status_code == 302
    study = Study.objects.get(owner=alice)
    assert study.evaluator["params"]["objective_models"] == {"accuracy": "xgboost-dart"}
    evaluator = services.study_config(study).build_evaluator()
    assert isinstance(evaluator, TableEvaluator)
    assert evaluator.models == {"accuracy": "xgboost-dart", "latency": "xgboost-linear"}
    assert {name: fit.model for name, fit in evaluator.fit_report().items()} == evaluator.models


def test_a_clone_keeps_each_objectives_regressor(alice_client: Any, alice: Any) -> None:
    data = form_post_data(
        alice_client,
        **small_zdt1(
            evaluator="table",
            space="custom",
            **{
                "space-custom-spec": CUSTOM_SPACE,
                "objectives-0-name": "accuracy",
                "objectives-0-model": "xgboost-linear",
                "objectives-1-name": "latency",
                "tables-0-objectives": "accuracy",
                "tables-1-objectives": "latency",
            },
        ),
    )
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    assert alice_client.post(CREATE, data).status_code == 302
    original = Study.objects.get(owner=alice)
    form = alice_client.get(CREATE, {"clone": original.pk}).context["form"]
    assert (form["objectives-0-model"].value(), form["objectives-1-model"].value()) == ("xgboost-linear", "")


def test_the_regressor_choices_are_the_table_evaluators_declared_models(alice_client: Any) -> None:
    form = alice_client.get(CREATE).context["form"]
    choices = [value for value, _ in form["objectives-0-model"].field.choices]
    table = next(e for e in services.component_catalogue()["evaluator"] if e["key"] == "table")
    declared = next(p["choices"] for p in table["params"] if p["name"] == "model")
    assert choices == ["", *declared]


# --- tables kept when the form comes back with errors ---


def kept_notes(response: Any) -> list[str]:
    """The "Kept: ..." lines the re-shown form says, in slot order."""
    content = response.content.decode()
    return [part.split("</p>")[0] for part in content.split('<p class="kept">')[1:]]


def test_uploaded_tables_survive_an_invalid_budget_and_create_the_study(
    alice_client: Any, alice: Any
) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", rows=14))
    response = alice_client.post(CREATE, data)
    assert response.status_code == 200
    assert "Enter a whole number." in response.context["form"].errors["budget"]
    notes = kept_notes(response)
    assert [note.split(" — ")[0] for note in notes] == [
        "Kept: <strong>accuracy.csv</strong>, 12 rows",
        "Kept: <strong>latency.csv</strong>, 14 rows",
    ]
    token = response.context["upload_token"]
    assert f'name="upload_token" value="{token}"' in response.content.decode()

    again = table_study(alice_client, budget="20", upload_token=token)  # no files this time
    response = alice_client.post(CREATE, again)
    assert response.status_code == 302, response.context["form"].errors
    tables = Study.objects.get(owner=alice).evaluator["params"]["tables"]
    assert [(t["name"], t["text"]) for t in tables] == [
        ("accuracy.csv", measured_csv("accuracy").decode()),
        ("latency.csv", measured_csv("latency", rows=14).decode()),
    ]
    # Created: the form's tables are no longer kept.
    fresh = alice_client.post(CREATE, table_study(alice_client, upload_token=token, name="Another"))
    assert "upload at least one table" in str(fresh.context["form"].errors)


def test_a_kept_table_is_replaced_by_a_new_file_and_dropped_by_remove(alice_client: Any) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    token = alice_client.post(CREATE, data).context["upload_token"]

    again = table_study(alice_client, budget="ten", upload_token=token, **{"tables-1-remove": "on"})
    again["tables-0-file"] = SimpleUploadedFile("accuracy-v2.csv", measured_csv("accuracy", rows=14))
    response = alice_client.post(CREATE, again)
    assert [note.split(" — ")[0] for note in kept_notes(response)] == [
        "Kept: <strong>accuracy-v2.csv</strong>, 14 rows"
    ]
    assert response.context["upload_token"] == token


def test_a_new_file_that_cannot_be_read_leaves_the_kept_table(alice_client: Any) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    token = alice_client.post(CREATE, data).context["upload_token"]
    again = table_study(alice_client, upload_token=token)
    again["tables-0-file"] = SimpleUploadedFile("binary.csv", b"\xff\xfe\x00binary")
    response = alice_client.post(CREATE, again)
    assert any("not UTF-8 text" in e for e in response.context["form"].errors["tables-0-file"])
    assert [note.split(" — ")[0] for note in kept_notes(response)] == [
        "Kept: <strong>accuracy.csv</strong>, 12 rows"
    ]


def test_tables_kept_for_alice_are_nothing_to_bob(alice_client: Any, alice: Any, bob: Any) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    token = alice_client.post(CREATE, data).context["upload_token"]
    alice_client.logout()
    alice_client.force_login(bob)
    response = alice_client.post(CREATE, table_study(alice_client, upload_token=token))
    assert kept_notes(response) == []
    assert "upload at least one table" in str(response.context["form"].errors)
    assert not Study.objects.exists()


def test_a_malformed_upload_token_starts_a_new_set(alice_client: Any) -> None:
    response = alice_client.post(CREATE, table_study(alice_client, upload_token="../../etc\x00"))
    assert response.status_code == 200
    assert response.context["upload_token"] != "../../etc\x00"


# --- every error at once ---


def test_a_bad_budget_and_a_bad_parameter_are_reported_together(alice_client: Any) -> None:
    data = form_post_data(alice_client, **small_zdt1(budget="ten", **{"surrogate-xgboost-max_depth": "99"}))
    errors = alice_client.post(CREATE, data).context["form"].errors
    assert errors["budget"] == ["Enter a whole number."]
    assert any("above the maximum 16" in e for e in errors["surrogate-xgboost-max_depth"])


def test_a_bad_budget_and_a_bad_table_are_reported_together(alice_client: Any) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", bad_line=5))
    errors = alice_client.post(CREATE, data).context["form"].errors
    assert errors["budget"] == ["Enter a whole number."]
    assert any("line 5" in e and "'lots' is not a number" in e for e in errors["tables-1-file"])


def test_every_bad_table_is_reported_at_its_own_upload(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy", bad_line=3))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", bad_line=5))
    errors = alice_client.post(CREATE, data).context["form"].errors
    assert any("line 3" in e for e in errors["tables-0-file"]), errors
    assert any("line 5" in e for e in errors["tables-1-file"]), errors
    assert not Study.objects.exists()


def test_an_input_with_its_own_error_shows_no_second_one(alice_client: Any) -> None:
    data = form_post_data(
        alice_client, **small_zdt1(budget="ten", **{"surrogate-xgboost-learning_rate": "abc"})
    )
    errors = alice_client.post(CREATE, data).context["form"].errors
    assert errors["surrogate-xgboost-learning_rate"] == ["Enter a number."]


# --- how well the tables predict ---


def fit_rows(response: Any) -> dict[str, list[str]]:
    """The fit table's cells by objective (``data-fit-objective`` rows of ``#table-fit``)."""
    content = response.content.decode()
    assert 'id="table-fit"' in content
    rows = {}
    for part in content.split('data-fit-objective="')[1:]:
        name, row = part.split('"', 1)
        cells = [cell.split("</td>")[0] for cell in row.split("</tr>")[0].split("<td>")[1:]]
        rows[name] = cells
    return rows


def test_a_table_studys_page_shows_each_objectives_cross_validated_fit(
    alice_client: Any, alice: Any, monkeypatch: Any
) -> None:
    data = table_study(alice_client, **{"objectives-0-model": "xgboost-linear"})
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy", rows=14))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", rows=14))
    assert alice_client.post(CREATE, data).status_code == 302
    study = Study.objects.get(owner=alice)
    report = services.study_config(study).build_evaluator().fit_report()  # type: ignore[attr-defined]
    cross_validations: list[str] = []
    cross_validate = TableEvaluator._cross_validate

    def counted(self: TableEvaluator, objective: str) -> Any:
        cross_validations.append(objective)
        return cross_validate(self, objective)

    monkeypatch.setattr(TableEvaluator, "_cross_validate", counted)
    cache.clear()  # a fit cached by an earlier run of this test
    page = reverse("studies-detail", args=[study.pk])
    rows = fit_rows(alice_client.get(page))
    assert rows["accuracy"][:3] == ["accuracy", "<code>xgboost-linear</code>", "14"]
    assert rows["accuracy"][3] == f"{report['accuracy'].r2:.3f}"
    assert rows["latency"][1:3] == ["<code>xgboost</code>", "14"]
    assert rows["latency"][5] == f"{report['latency'].kendall_tau:.3f}"
    assert rows["latency"][6] == f"{100 * report['latency'].within_10_percent:.1f} %"
    assert sorted(cross_validations) == ["accuracy", "latency"]
    fit_rows(alice_client.get(page))
    assert sorted(cross_validations) == ["accuracy", "latency"]  # the second view reads the cached fit


def _done(study: Study, n: int, accuracy: float, latency: float) -> None:
    Evaluation.objects.create(
        study=study,
        key=f"arch-{n}",
        x=[0.5, 0.5, 0.0],
        architecture={"width": 8 + n, "depth": 1, "act": "relu"},
        source=Evaluation.Source.INITIAL,
        status=Evaluation.Status.DONE,
        objectives=[accuracy, latency],
    )


def test_a_best_value_past_every_measurement_is_called_an_extrapolation(
    alice_client: Any, alice: Any
) -> None:
    data = table_study(alice_client, **{"objectives-0-model": "xgboost-linear"})
    # accuracy measured 70 to 76.5 %, latency 100 to 191 ms (measured_csv's 14 rows)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy", rows=14))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", rows=14))
    assert alice_client.post(CREATE, data).status_code == 302
    study = Study.objects.get(owner=alice)
    page = reverse("studies-detail", args=[study.pk])
    _done(study, 1, 75.0, 120.0)
    _done(study, 2, 76.0, 150.0)
    assert "data-beyond-tables" not in alice_client.get(page).content.decode()  # within the tables

    _done(study, 3, 81.25, 130.0)  # more accuracy than any measured architecture
    _done(study, 4, 79.0, 90.5)  # and faster than any
    notes = [
        part.split(">", 1)[1].split("</p>", 1)[0]
        for part in alice_client.get(page).content.decode().split("data-beyond-tables")[1:]
    ]
    assert notes == [
        "The best accuracy found, 81.25, lies beyond the best in the tables (76.5), as do 2 of the 4"
        " architectures found. There the xgboost-linear regressor extrapolates past every measurement:"
        " measure them before trusting those values.",
        "The best latency found, 90.5, lies beyond the best in the tables (100), as does 1 of the 4"
        " architectures found. There the xgboost regressor extrapolates past every measurement:"
        " measure them before trusting those values.",
    ]


def test_a_benchmark_studys_page_has_no_fit_table(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    assert (
        'id="table-fit"' not in alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    )


def test_the_form_shown_again_says_how_well_the_kept_tables_predict(alice_client: Any) -> None:
    data = table_study(alice_client, budget="ten")
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy", rows=13))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", rows=13))
    rows = fit_rows(alice_client.post(CREATE, data))
    assert sorted(rows) == ["accuracy", "latency"]
    assert rows["accuracy"][2] == "13"


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("width,depth,act,accuracy\n8,1,relu,70\n12,2,gelu,71\n", 2),
        ("8,1,0,70\n\n12,2,1,71\n", 2),
        ("", 0),
        ('8,1,"unterminated\n', 0),
    ],
)
def test_a_kept_tables_rows_are_counted_without_its_header(text: str, rows: int) -> None:
    assert data_rows(text) == rows


def test_a_table_study_whose_table_file_is_gone_shows_no_fit(tmp_path: Path) -> None:
    missing = tmp_path / "gone.csv"
    evaluator = {"name": "table", "params": {"tables": [{"path": str(missing), "objectives": ["accuracy"]}]}}
    assert evaluator_fit(evaluator) is None
    assert evaluator_fit({"name": "benchmark", "params": {}}) is None


def test_a_session_keeps_the_tables_of_its_last_three_forms_only() -> None:
    table = KeptTable.of("a.csv", "width,accuracy\n8,70\n")
    forms = [KeptTables("session-of-alice", None, TABLE_SLOTS) for _ in range(FORMS_PER_SESSION + 1)]
    elsewhere = KeptTables("session-of-bob", None, TABLE_SLOTS)
    elsewhere.keep({0: table})
    for form in forms:
        form.keep({0: table})
    assert [len(form.tables()) for form in forms] == [0] + [1] * FORMS_PER_SESSION
    assert elsewhere.tables() == {0: table}
    forms[-1].keep({0: None})  # nothing kept any more: it no longer counts towards the three
    KeptTables("session-of-alice", None, TABLE_SLOTS).keep({0: table})
    assert [len(form.tables()) for form in forms[1:]] == [1, 1, 0]
