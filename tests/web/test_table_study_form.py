"""The study form's table evaluator: a regressor per objective; the HyT-NAS study as the command line's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from search_engine.config import COMPONENT_FIELDS
from search_engine.evaluators.table import TableEvaluator
from search_engine.registry import EVALUATORS
from search_engine.setups import HYTNAS_TABLE, study_config
from tests.web.study_form_data import (
    CUSTOM_SPACE,
    form_post_data,
    hytnas_table_study,
    hytnas_tables,
    measured_csv,
    small_zdt1,
)

CREATE = reverse("studies-create")


def as_run(config: dict[str, Any]) -> dict[str, Any]:
    """A stored configuration as the engine runs it: every component's and the evaluator's parameters
    resolved (defaults written out), each table by its text and objectives rather than where it came from."""
    effective = dict(config)
    for kind, registry in COMPONENT_FIELDS.items():
        effective[kind] = (
            config[kind]["name"],
            registry.resolve(config[kind]["name"], config[kind]["params"], kind),
        )
    evaluator = config["evaluator"]
    params = EVALUATORS.resolve(evaluator["name"], evaluator["params"], "evaluator")
    params["tables"] = [
        (table.get("text") or Path(table["path"]).read_text(encoding="utf-8-sig"), table["objectives"])
        for table in params["tables"]
    ]
    effective["evaluator"] = (evaluator["name"], params)
    return effective


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
    table = {
        "evaluator": "table",
        "space": "custom",
        "space-custom-spec": CUSTOM_SPACE,
        "objectives-0-name": "accuracy",
        "objectives-0-direction": "max",
        "objectives-0-model": "xgboost-dart",
        "objectives-1-name": "latency",
        "objectives-1-model": "",
        "tables-0-objectives": "accuracy",
        "tables-1-objectives": "latency",
        "evaluator-table-model": "xgboost-linear",
    }
    data = form_post_data(alice_client, **small_zdt1(**table))
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
