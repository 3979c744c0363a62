"""Device budgets in the study form: bounds saved, cloned and shown; each bad one at its field."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from hytnas_web.studies.models import Study
from tests.web.study_form_data import form_post_data, small_zdt1
from tests.web.test_create_external import external
from tests.web.test_create_view import post


def field_errors(response: Any, field: str) -> list[str]:
    """Errors shown next to ``field``, each checked to be on the page (``<=`` escaped as HTML is)."""
    assert response.status_code == 200, response.status_code
    errors = list(response.context["form"].errors.get(field, []))
    for error in errors:
        assert escape(error) in response.content.decode()
    return errors


def bounds(*rows: tuple[str, str, str]) -> dict[str, str]:
    """Posted inputs of the bound rows ``(quantity, bound, value)``."""
    data: dict[str, str] = {}
    for i, (quantity, bound, value) in enumerate(rows):
        data |= {
            f"constraints-{i}-quantity": quantity,
            f"constraints-{i}-bound": bound,
            f"constraints-{i}-value": value,
        }
    return data


def hytnas_external(*rows: tuple[str, str, str]) -> dict[str, str]:
    """A small external study on the HyT-NAS space (accuracy, latency) with the given bounds."""
    return {
        **external(space="hytnas", **{"evaluator-external-metrics": ""}),
        "objectives-0-name": "accuracy",
        "objectives-1-name": "latency",
        "objectives-1-unit": "ms",
        **bounds(*rows),
    }


def test_bounds_on_an_objective_and_on_parameters_are_saved_shown_and_cloned(
    alice_client: Any, alice: Any
) -> None:
    data = form_post_data(
        alice_client, **hytnas_external(("params", "upper", "2e6"), ("latency", "upper", "30"))
    )
    response = post(alice_client, data)
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.config["constraints"] == [
        {"quantity": "params", "bound": "upper", "value": 2e6},
        {"quantity": "latency", "bound": "upper", "value": 30.0},
    ]
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "params at most 2e+06 parameters" in page
    assert "latency at most 30 ms" in page
    assert "of the space meets the bounds known before measuring" in page
    clone = alice_client.get(reverse("studies-create") + f"?clone={study.pk}")
    rows = clone.context["form"].constraints
    assert [row["quantity"].value() for row in rows][:2] == ["params", "latency"]
    assert [row["value"].value() for row in rows][:2] == ["2000000", "30"]


def test_a_bound_on_an_objective_of_a_benchmark_is_saved(alice_client: Any, alice: Any) -> None:
    response = post(
        alice_client, form_post_data(alice_client, **small_zdt1(**bounds(("f1", "upper", "0.8"))))
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Study.objects.get(owner=alice).config["constraints"] == [
        {"quantity": "f1", "bound": "upper", "value": 0.8}
    ]


@pytest.mark.parametrize(
    ("rows", "field", "words"),
    [
        (
            [("energy", "upper", "3")],
            "constraints-0-quantity",
            "no objective, stage latency, metric or space",
        ),
        ([("f1", "upper", "nan")], "constraints-0-value", "not a finite number"),
        ([("f1", "upper", "inf")], "constraints-0-value", "not a finite number"),
        ([("f1", "upper", "")], "constraints-0-value", "give the bound's value"),
        ([("f1", "upper", "0.5"), ("f1", "lower", "0.7")], "constraints-1-value", "contradicts"),
    ],
)
def test_a_bad_bound_on_a_benchmark_is_reported_at_its_field_and_nothing_is_saved(
    alice_client: Any, rows: list[tuple[str, str, str]], field: str, words: str
) -> None:
    response = post(alice_client, form_post_data(alice_client, **small_zdt1(**bounds(*rows))))
    errors = field_errors(response, field)
    assert any(words in e for e in errors), errors
    assert not Study.objects.exists()


def test_a_parameter_bound_no_architecture_meets_is_reported_before_the_study_starts(
    alice_client: Any,
) -> None:
    data = form_post_data(
        alice_client, **hytnas_external(("latency", "upper", "30"), ("params", "upper", "10"))
    )
    errors = field_errors(post(alice_client, data), "constraints-1-value")
    assert any("no architecture of the space meets params <= 10" in e for e in errors), errors
    assert not Study.objects.exists()
