"""The study form: creating studies, pre-filling from presets, and every bad value shown at its field."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Preset, Study
from tests.web.study_form_data import CUSTOM_SPACE, form_post_data, measured_csv, small_zdt1, table_study

CREATE = reverse("studies-create")


def post(client: Any, data: dict[str, Any]) -> Any:
    return client.post(CREATE, data)


def field_errors(response: Any, field: str) -> list[str]:
    """Errors shown next to ``field`` (and checked to be on the page)."""
    assert response.status_code == 200, response.status_code
    errors = list(response.context["form"].errors.get(field, []))
    for error in errors:
        assert error.replace("'", "&#x27;").replace('"', "&quot;") in response.content.decode()
    return errors


# --- creating studies ---


def test_a_zdt1_study_is_created_through_the_form(alice_client: Any, alice: Any) -> None:
    response = post(alice_client, form_post_data(alice_client, **small_zdt1()))
    study = Study.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("studies-detail", args=[study.pk])
    assert study.status == Study.Status.DRAFT
    assert study.name == "ZDT1 from the form"
    assert study.evaluator["name"] == "benchmark"
    assert {k: study.evaluator["params"][k] for k in ("problem", "n_var", "n_obj")} == {
        "problem": "zdt1",
        "n_var": 4,
        "n_obj": 2,
    }
    assert study.space["name"] == "generic" and len(study.space["params"]["variables"]) == 4
    assert [o["name"] for o in study.objectives] == ["f1", "f2"]
    assert (study.n_init, study.batch_size, study.budget, study.ref_point) == (10, 5, 20, None)
    components = study.components
    assert set(components) == {"sampler", "surrogate", "acquisition", "solver", "selection", "feasibility"}
    assert components["solver"]["name"] == "nsga2"
    assert components["solver"]["params"]["pop_size"] == 20 and components["solver"]["params"]["n_gen"] == 5
    assert components["surrogate"]["name"] == "xgboost"
    assert study.preset is not None and study.preset.key == "hytnas"
    services.study_config(study).validate()


@pytest.mark.django_db(transaction=True)
def test_a_zdt1_study_from_the_form_runs_to_completion_on_a_real_worker(
    alice_client: Any, alice: Any, start_worker: Callable[..., Any]
) -> None:
    assert post(alice_client, form_post_data(alice_client, **small_zdt1())).status_code == 302
    study = Study.objects.get(owner=alice)
    assert alice_client.post(reverse("studies-start", args=[study.pk])).status_code == 302
    start_worker()
    deadline = time.monotonic() + 120
    while Study.objects.get(pk=study.pk).status == Study.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED, study.error
    assert study.evaluations.filter(status=Evaluation.Status.DONE).count() == 20
    content = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "20 / 20" in content and "Completed" in content


def test_only_the_selected_components_parameters_are_read(alice_client: Any, alice: Any) -> None:
    # The GP's inputs hold nonsense, but XGBoost is the chosen surrogate: they are ignored.
    data = form_post_data(
        alice_client,
        **small_zdt1(
            surrogate="xgboost",
            **{"surrogate-xgboost-max_depth": "3", "surrogate-gp-n_restarts": "lots"},
        ),
    )
    assert post(alice_client, data).status_code == 302
    surrogate = Study.objects.get(owner=alice).components["surrogate"]
    assert surrogate["name"] == "xgboost" and surrogate["params"]["max_depth"] == 3


def test_a_choice_parameter_keeps_its_type(alice_client: Any, alice: Any) -> None:
    data = form_post_data(
        alice_client,
        **small_zdt1(surrogate="gp", acquisition="ucb", selection="hvi", **{"surrogate-gp-nu": "1.5"}),
    )
    assert post(alice_client, data).status_code == 302
    surrogate = Study.objects.get(owner=alice).components["surrogate"]
    assert surrogate["params"]["nu"] == 1.5


def test_a_given_reference_point_is_stored_in_the_objectives_units(alice_client: Any, alice: Any) -> None:
    assert (
        post(alice_client, form_post_data(alice_client, **small_zdt1(ref_point="1.1, 1.1"))).status_code
        == 302
    )
    assert Study.objects.get(owner=alice).ref_point == [1.1, 1.1]


def test_blank_objectives_are_the_benchmarks_own(alice_client: Any, alice: Any) -> None:
    blank = {f"objectives-{i}-name": "" for i in range(5)}
    data = form_post_data(
        alice_client,
        **small_zdt1(**{"evaluator-benchmark-problem": "dtlz2", "evaluator-benchmark-n_obj": "3"}, **blank),
    )
    assert post(alice_client, data).status_code == 302
    assert [o["name"] for o in Study.objects.get(owner=alice).objectives] == ["f1", "f2", "f3"]


def test_a_table_study_with_two_uploaded_tables(alice_client: Any, alice: Any) -> None:
    data = form_post_data(
        alice_client,
        **small_zdt1(
            name="Measured tables",
            evaluator="table",
            space="custom",
            **{
                "space-custom-spec": CUSTOM_SPACE,
                "objectives-0-name": "accuracy",
                "objectives-0-direction": "max",
                "objectives-0-unit": "%",
                "objectives-1-name": "latency",
                "objectives-1-direction": "min",
                "objectives-1-unit": "ms",
                "tables-0-objectives": "accuracy",
                "tables-1-objectives": "latency",
            },
        ),
    )
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"), "text/csv")
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"), "text/csv")
    response = post(alice_client, data)
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    tables = study.evaluator["params"]["tables"]
    assert [(t["name"], t["objectives"]) for t in tables] == [
        ("accuracy.csv", ["accuracy"]),
        ("latency.csv", ["latency"]),
    ]
    assert study.evaluator["params"]["space"] == study.space
    assert [v["name"] for v in study.space["params"]["variables"]] == ["width", "depth", "act"]
    assert [(o["name"], o["direction"], o["unit"]) for o in study.objectives] == [
        ("accuracy", "max", "%"),
        ("latency", "min", "ms"),
    ]
    assert services.study_config(study).validate().build_evaluator().objectives[0].name == "accuracy"


# --- pre-filling ---


def test_the_form_starts_from_the_recommended_auto_preset(alice_client: Any) -> None:
    response = alice_client.get(CREATE)
    form = response.context["form"]
    recommended = Preset.objects.get(owner=None, key="auto")
    assert form["preset"].value() == recommended.pk and form["auto"].value() is True
    assert (form["n_init"].value(), form["batch_size"].value()) == (50, 10)
    built_in = [p.key for p in response.context["built_in_presets"]]
    assert built_in[:2] == ["auto", "hytnas"]  # the engine's order: recommended first
    assert "Let the optimizer choose its components (recommended)" in response.content.decode()


def test_the_original_hytnas_preset_is_still_offered_and_prefills_as_before(alice_client: Any) -> None:
    services.sync_builtin_presets()
    hytnas = Preset.objects.get(owner=None, key="hytnas")
    assert hytnas.label == "HyT-NAS original"
    form = alice_client.get(CREATE, {"preset": hytnas.pk}).context["form"]
    assert form["preset"].value() == hytnas.pk and form["auto"].value() is False
    assert form["surrogate"].value() == "xgboost"
    assert form["solver-nsga2-pop_size"].value() == 100
    assert form["solver-nsga2-n_gen"].value() == 25
    assert (form["n_init"].value(), form["batch_size"].value()) == (100, 50)


def test_a_preset_prefills_components_and_sizes(alice_client: Any) -> None:
    services.sync_builtin_presets()
    gp = Preset.objects.get(owner=None, key="gp")
    response = alice_client.get(CREATE, {"preset": gp.pk})
    form = response.context["form"]
    assert form["sampler"].value() == "lhs"
    assert form["surrogate"].value() == "gp"
    assert form["surrogate-gp-nu"].value() == 1.5
    assert form["acquisition"].value() == "identity"
    assert form["solver-nsga2-n_gen"].value() == 50
    assert (form["n_init"].value(), form["batch_size"].value()) == (50, 10)
    assert f'<option value="{gp.pk}" selected>' in response.content.decode()


def test_a_users_own_preset_prefills_the_form(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    preset = services.save_preset(alice, study, "small", "Small ZDT1")
    form = alice_client.get(CREATE, {"preset": preset.pk}).context["form"]
    assert form["solver-nsga2-pop_size"].value() == 20
    assert (form["n_init"].value(), form["batch_size"].value()) == (10, 10)


def test_another_users_preset_is_not_found(bob_client: Any, alice: Any, make_study: Any) -> None:
    preset = services.save_preset(alice, make_study(alice), "mine", "Alice's")
    assert bob_client.get(CREATE, {"preset": preset.pk}).status_code == 404
    assert bob_client.get(CREATE, {"preset": "not-a-number"}).status_code == 404


def test_clone_prefills_everything_from_a_study(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice, name="Original")
    form = alice_client.get(CREATE, {"clone": study.pk}).context["form"]
    assert form["name"].value() == "Original (copy)"
    assert form["evaluator-benchmark-n_var"].value() == 4
    assert form["budget"].value() == 30
    assert form["ref_point"].value() == "1.1, 1.1"
    data = form_post_data(alice_client, f"{CREATE}?clone={study.pk}")
    assert post(alice_client, data).status_code == 302
    copy, original = (
        services.study_config(s).to_dict() for s in (Study.objects.get(name="Original (copy)"), study)
    )
    for part in ("evaluator", "sampler", "surrogate", "acquisition", "solver", "selection"):
        # The form writes every parameter out; the ones the original set are the same.
        assert copy[part]["name"] == original[part]["name"]
        assert copy[part]["params"].items() >= original[part]["params"].items()
    for part in ("space", "objectives", "ref_point", "n_init", "batch_size", "budget", "seed", "patience"):
        assert copy[part] == original[part]


def test_clone_of_another_users_study_is_not_found(bob_client: Any, alice: Any, make_study: Any) -> None:
    assert bob_client.get(CREATE, {"clone": make_study(alice).pk}).status_code == 404


# --- each bad value shows its message at its field ---


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"surrogate-xgboost-max_depth": "99"}, "surrogate-xgboost-max_depth", "above the maximum 16"),
        ({"solver-nsga2-pop_size": "2"}, "solver-nsga2-pop_size", "below the minimum 4"),
        ({"surrogate-xgboost-learning_rate": "abc"}, "surrogate-xgboost-learning_rate", "Enter a number"),
        ({"surrogate-xgboost-max_depth": ""}, "surrogate-xgboost-max_depth", "a value is required"),
        ({"budget": "5"}, "budget", "smaller than the initial design (10)"),
        ({"budget": "ten"}, "budget", "Enter a whole number"),
        ({"budget": "1" * 40}, "budget", "less than or equal to"),
        ({"budget": ""}, "budget", "This field is required"),
        ({"n_init": "0", "budget": "20"}, "n_init", "below the minimum 1"),
        ({"ref_point": "1, 2, 3"}, "ref_point", "expected 2 values"),
        ({"ref_point": "1, abc"}, "ref_point", "'abc' is not a number"),
        ({"ref_point": "1, inf"}, "ref_point", "not a finite number"),
        ({"surrogate": "oracle"}, "surrogate", "Select a valid choice"),
        ({"acquisition": "ei"}, "acquisition", "needs a predictive std"),
        (
            {"evaluator-benchmark-problem": "dtlz2", "evaluator-benchmark-n_obj": "3"},
            "objectives-0-name",
            "reports 3 objectives; 2 are named",
        ),
        (
            {
                "evaluator-benchmark-problem": "zdt1",
                "evaluator-benchmark-n_obj": "4",
                "objectives-2-name": "f3",
                "objectives-3-name": "f4",
            },
            "evaluator-benchmark-n_obj",
            "exactly 2",
        ),
        ({"objectives-1-name": "f1"}, "objectives-0-name", "used twice"),
        ({"space": "hytnas"}, "space", "its own space"),
        ({"seed": "-1"}, "seed", "below the minimum 0"),
        ({"patience": "0"}, "patience", "below the minimum 1"),
    ],
)
def test_a_bad_value_is_reported_next_to_its_field(
    alice_client: Any, changes: dict[str, str], field: str, fragment: str
) -> None:
    response = post(alice_client, form_post_data(alice_client, **small_zdt1(**changes)))
    errors = field_errors(response, field)
    assert any(fragment in e for e in errors), errors
    assert not Study.objects.exists()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("[{", "Enter valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "Enter valid JSON"),
        ('[{"name": "x", "type": "float", "low": NaN, "high": 1}]', "not a finite number"),
        ('[{"name": "x", "type": "float", "low": 0, "high": 1e999}]', "finite"),
        ('[{"name": "x", "type": "wobbly"}]', "'wobbly' is not one of"),
        ('[{"name": "x", "type": "int", "low": 5, "high": 1}]', "must be greater than low"),
        ('[{"name": "x", "type": "float", "low": 0, "high": ' + "9" * 400 + "}]", "finite"),
        ("[]", "non-empty list of variables"),
        ('"just text"', "expected a list of variables"),
    ],
)
def test_a_bad_custom_space_is_reported_at_the_space_input(
    alice_client: Any, spec: str, fragment: str
) -> None:
    data = form_post_data(
        alice_client, **small_zdt1(evaluator="table", space="custom", **{"space-custom-spec": spec})
    )
    errors = field_errors(post(alice_client, data), "space-custom-spec")
    assert any(fragment in e for e in errors), errors


def test_a_bad_mix_of_surrogates_is_reported_at_its_parameter(alice_client: Any) -> None:
    data = form_post_data(
        alice_client,
        **small_zdt1(
            surrogate="mix",
            **{"surrogate-mix-surrogates": '[{"name": "gp"}]'},
            selection="nds",
        ),
    )
    errors = field_errors(post(alice_client, data), "surrogate-mix-surrogates")
    assert any("one surrogate per objective" in e for e in errors), errors


def test_missing_inputs_are_required_not_a_crash(alice_client: Any) -> None:
    response = post(alice_client, {"name": "almost nothing"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"space", "evaluator", "surrogate", "budget"} <= set(errors)


HOSTILE_INPUTS = [
    "name",
    "space",
    "space-custom-spec",
    "evaluator",
    "evaluator-benchmark-problem",
    "evaluator-benchmark-n_var",
    "evaluator-external-metrics",
    "evaluator-external-time_limit_seconds",
    "objectives-0-name",
    "objectives-0-direction",
    "objectives-0-unit",
    "ref_point",
    "sampler",
    "surrogate",
    "surrogate-xgboost-max_depth",
    "surrogate-xgboost-learning_rate",
    "surrogate-xgboost-booster",
    "surrogate-mix-surrogates",
    "solver-nsga2-pop_size",
    "n_init",
    "batch_size",
    "budget",
    "seed",
    "patience",
    "preset",
    "tables_from",
    "tables-0-objectives",
    "objectives-TOTAL_FORMS",
    "tables-TOTAL_FORMS",
]
HOSTILE_VALUES = ["", "-1", "0", "1e308", "1e999", "NaN", "9" * 5000, "\x00", "[]", "{}", '{"name": 1}', "🙂"]


@pytest.mark.parametrize("evaluator", ["benchmark", "table", "external"])
def test_hostile_values_never_cause_a_server_error(alice_client: Any, evaluator: str) -> None:
    base = form_post_data(alice_client, **small_zdt1(evaluator=evaluator, surrogate="mix", selection="nds"))
    for i, name in enumerate(HOSTILE_INPUTS):
        # Each input gets a few of the values, rotating, so every value meets many kinds of input.
        for value in (HOSTILE_VALUES * 2)[2 * i % len(HOSTILE_VALUES) :][:2]:
            response = post(alice_client, {**base, name: value})
            assert response.status_code in (200, 302), (name, value, response.status_code)


def test_typed_text_is_shown_escaped(alice_client: Any) -> None:
    data = form_post_data(alice_client, **small_zdt1(name="<script>alert(1)</script>", budget="1"))
    content = post(alice_client, data).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert" not in content


# --- tables ---


def test_a_malformed_csv_is_reported_at_its_upload_with_the_line_number(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency", bad_line=5))
    errors = field_errors(post(alice_client, data), "tables-1-file")
    assert any("line 5" in e and "'lots' is not a number" in e for e in errors), errors
    assert not Study.objects.exists()


def test_a_table_with_unknown_columns_names_the_column(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("a.csv", b"width,height,accuracy\n1,2,3\n")
    data["tables-1-file"] = SimpleUploadedFile("l.csv", measured_csv("latency"))
    errors = field_errors(post(alice_client, data), "tables-0-file")
    assert any("line 1" in e and "height" in e for e in errors), errors


def test_a_table_study_needs_a_table_for_every_objective(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    errors = field_errors(post(alice_client, data), "tables-0-file")
    assert any("no table measures objective 'latency'" in e for e in errors), errors


def test_a_table_naming_an_unknown_objective_is_reported_at_its_objectives(alice_client: Any) -> None:
    data = table_study(alice_client, **{"tables-0-objectives": "energy"})
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    errors = field_errors(post(alice_client, data), "tables-0-objectives")
    assert any("unknown objective 'energy'" in e for e in errors), errors


def test_a_table_that_is_not_text_is_refused(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", b"\xff\xfe\x00binary")
    errors = field_errors(post(alice_client, data), "tables-0-file")
    assert any("not UTF-8 text" in e for e in errors), errors


@override_settings(MAX_TABLE_UPLOAD_BYTES=2048)
def test_an_upload_over_the_size_limit_is_refused_with_the_limit(alice_client: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy", rows=400))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    errors = field_errors(post(alice_client, data), "tables-0-file")
    assert any("the largest table accepted is 2.0 KB" in e for e in errors), errors


def test_clone_and_edit_of_a_table_study_reuses_its_tables(alice_client: Any, alice: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    assert post(alice_client, data).status_code == 302
    original = Study.objects.get(owner=alice)
    clone_data = form_post_data(alice_client, f"{CREATE}?clone={original.pk}", budget="25")
    assert clone_data["tables_from"] == str(original.pk)
    assert post(alice_client, clone_data).status_code == 302
    copy = Study.objects.exclude(pk=original.pk).get()
    assert copy.budget == 25
    assert copy.evaluator["params"]["tables"] == original.evaluator["params"]["tables"]


def test_an_error_in_a_reused_table_is_shown_above_the_form(alice_client: Any, alice: Any) -> None:
    data = table_study(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("accuracy.csv", measured_csv("accuracy"))
    data["tables-1-file"] = SimpleUploadedFile("latency.csv", measured_csv("latency"))
    assert post(alice_client, data).status_code == 302
    original = Study.objects.get(owner=alice)
    # The clone renames an objective the reused accuracy table measures: it has no upload input.
    clone_url = f"{CREATE}?clone={original.pk}"
    clone_data = form_post_data(alice_client, clone_url, **{"objectives-0-name": "top1"})
    response = post(alice_client, clone_data)
    message = "evaluator.params.tables[0].objectives: unknown objective 'accuracy'; known: top1, latency"
    assert field_errors(response, "__all__") == [message]
    summary = response.content.decode().split('class="error-summary"')[1].split("</div>")[0]
    assert message.replace("'", "&#x27;") in summary
    assert Study.objects.count() == 1


def test_too_many_objective_rows_are_refused_above_the_form(alice_client: Any) -> None:
    sixth_row = {"objectives-TOTAL_FORMS": "6", "objectives-5-name": "f6"}
    data = form_post_data(alice_client, **small_zdt1(**sixth_row))
    response = post(alice_client, data)
    assert field_errors(response, "objectives") == ["Please submit at most 5 forms."]
    assert "Please submit at most 5 forms." in response.content.decode().split('class="error-summary"')[1]
    assert not Study.objects.exists()


def test_tables_of_another_users_study_cannot_be_borrowed(
    bob_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice)
    data = table_study(bob_client, tables_from=str(study.pk))
    response = post(bob_client, data)
    assert response.status_code == 200
    assert "tables_from" in response.context["form"].errors
    assert not Study.objects.filter(owner__username="bob").exists()


def test_anonymous_users_cannot_create_studies(client: Any, alice_client: Any) -> None:
    data = form_post_data(alice_client, **small_zdt1())
    alice_client.logout()
    response = client.post(CREATE, data)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Study.objects.exists()
