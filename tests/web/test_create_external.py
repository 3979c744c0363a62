"""The study form with the external evaluator: the objectives and metrics the user declares, any space."""

from __future__ import annotations

from typing import Any

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.study_form_data import CUSTOM_SPACE, form_post_data, small_zdt1
from tests.web.test_create_view import field_errors, post

THREE_OBJECTIVES = {
    "objectives-0-name": "top1",
    "objectives-0-direction": "max",
    "objectives-0-unit": "%",
    "objectives-1-name": "latency",
    "objectives-1-direction": "min",
    "objectives-1-unit": "ms",
    "objectives-2-name": "energy",
    "objectives-2-direction": "min",
    "objectives-2-unit": "mJ",
}


def external(**changes: Any) -> dict[str, Any]:
    """Changes that make the default form a small external study on a custom space."""
    values = {"name": "My own evaluation", "evaluator": "external", "space": "custom"}
    return small_zdt1(**{**values, "space-custom-spec": CUSTOM_SPACE, **changes})


def test_an_external_study_on_a_custom_space_takes_the_declared_objectives_and_metrics(
    alice_client: Any, alice: Any
) -> None:
    changes = external(
        **THREE_OBJECTIVES,
        **{
            "evaluator-external-metrics": '["params", "energy_mj"]',
            "evaluator-external-time_limit_seconds": "900",
        },
    )
    response = post(alice_client, form_post_data(alice_client, **changes))
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.evaluator == {
        "name": "external",
        "params": {
            "objectives": study.objectives,
            "metrics": ["params", "energy_mj"],
            "time_limit_seconds": 900.0,
        },
    }
    assert [(o["name"], o["direction"], o["unit"]) for o in study.objectives] == [
        ("top1", "max", "%"),
        ("latency", "min", "ms"),
        ("energy", "min", "mJ"),
    ]
    assert study.space["name"] == "generic"
    assert [v["name"] for v in study.space["params"]["variables"]] == ["width", "depth", "act"]
    assert services.study_dispatch(study) == "remote"


def test_an_external_study_on_the_hytnas_space_keeps_the_prefilled_objectives_and_no_metrics(
    alice_client: Any, alice: Any
) -> None:
    data = form_post_data(alice_client, **external(space="hytnas", **{"evaluator-external-metrics": ""}))
    data.update({"objectives-0-name": "accuracy", "objectives-1-name": "latency"})
    response = post(alice_client, data)
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.space["name"] == "hytnas"
    assert [o["name"] for o in study.objectives] == ["accuracy", "latency"]
    assert study.evaluator["params"]["metrics"] is None  # left blank: no extra metrics
    assert services.study_config(study).build_evaluator().metric_names() == ()


def test_an_external_study_needs_two_objectives(alice_client: Any) -> None:
    data = form_post_data(alice_client, **external())
    data.update({"objectives-0-name": "accuracy", "objectives-1-name": ""})
    errors = field_errors(post(alice_client, data), "objectives-0-name")
    assert any("2 or more objectives" in e for e in errors), errors
    assert not Study.objects.exists()


def test_a_bad_metric_list_is_reported_at_its_input(alice_client: Any) -> None:
    data = form_post_data(alice_client, **external(**{"evaluator-external-metrics": '["params", "params"]'}))
    errors = field_errors(post(alice_client, data), "evaluator-external-metrics")
    assert any("used twice" in e for e in errors), errors
    assert not Study.objects.exists()


def test_a_time_limit_under_a_second_is_reported_at_its_input(alice_client: Any) -> None:
    data = form_post_data(alice_client, **external(**{"evaluator-external-time_limit_seconds": "0.5"}))
    errors = field_errors(post(alice_client, data), "evaluator-external-time_limit_seconds")
    assert any("below the minimum 1" in e for e in errors), errors
    assert not Study.objects.exists()
