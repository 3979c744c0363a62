"""The study form with the PyTorch evaluators: ``torch`` (evaluations queue) and ``remote`` (workers)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.study_form_data import CUSTOM_SPACE, form_post_data, measured_csv

CREATE = reverse("studies-create")
PROXY = {"name": "accuracy_proxy", "direction": "max", "unit": "score"}
LATENCY = {"name": "latency", "direction": "min", "unit": "ms"}
BLANK_OBJECTIVES = {f"objectives-{i}-name": "" for i in range(5)}


def torch_form(client: Any, evaluator: str = "torch", **changes: Any) -> dict[str, Any]:
    """The default form switched to a small HyT-NAS study measured by ``evaluator``."""
    values: dict[str, Any] = {
        "name": f"{evaluator} study",
        "evaluator": evaluator,
        "space": "hytnas",
        f"evaluator-{evaluator}-task": "classification",
        f"evaluator-{evaluator}-resolution": "64",
        "n_init": "4",
        "batch_size": "2",
        "budget": "8",
        **BLANK_OBJECTIVES,
    }
    values.update(changes)
    return form_post_data(client, **values)


def field_errors(response: Any, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code
    return list(response.context["form"].errors.get(field, []))


@pytest.mark.parametrize("evaluator", ["torch", "remote"])
def test_a_pytorch_study_is_created_with_the_evaluators_own_objectives_and_space(
    alice_client: Any, alice: Any, evaluator: str
) -> None:
    response = alice_client.post(CREATE, torch_form(alice_client, evaluator))
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.evaluator["name"] == evaluator
    params = study.evaluator["params"]
    assert (params["task"], params["resolution"], params["accuracy"]) == ("classification", 64, "naswot")
    assert not {"tables", "objectives", "space"} & set(params)
    assert study.space == {"name": "hytnas", "params": {}}
    assert study.objectives == [PROXY, LATENCY]
    services.study_config(study).validate()


def test_without_an_accuracy_proxy_latency_is_the_only_objective(alice_client: Any, alice: Any) -> None:
    data = torch_form(alice_client, "remote", **{"evaluator-remote-accuracy": "none"})
    assert alice_client.post(CREATE, data).status_code == 302
    study = Study.objects.get(owner=alice)
    assert study.objectives == [LATENCY]
    assert study.evaluator["params"]["accuracy"] == "none"


def test_named_objectives_that_match_the_evaluator_are_kept_with_its_units(
    alice_client: Any, alice: Any
) -> None:
    rows = {
        "objectives-0-name": "accuracy_proxy",
        "objectives-0-direction": "max",
        "objectives-0-unit": "",
        "objectives-1-name": "latency",
        "objectives-1-direction": "min",
        "objectives-1-unit": "ms",
    }
    assert alice_client.post(CREATE, torch_form(alice_client, **rows)).status_code == 302
    assert Study.objects.get(owner=alice).objectives == [PROXY, LATENCY]


def test_objectives_the_evaluator_does_not_report_are_refused_at_their_row(alice_client: Any) -> None:
    # The benchmark's f1, f2 left in the rows: wrong names.
    wrong_names = torch_form(alice_client, **{"objectives-0-name": "f1", "objectives-1-name": "f2"})
    errors = field_errors(alice_client.post(CREATE, wrong_names), "objectives-0-name")
    assert errors == ["the torch evaluator reports 'accuracy_proxy' here, not 'f1'"]
    # One row too many for a latency-only evaluator.
    too_many = torch_form(
        alice_client,
        **{
            "evaluator-torch-accuracy": "none",
            "objectives-0-name": "latency",
            "objectives-1-name": "accuracy_proxy",
        },
    )
    errors = field_errors(alice_client.post(CREATE, too_many), "objectives-0-name")
    assert len(errors) == 1 and "reports 1 objective(s), latency; 2 are named" in errors[0]
    # Maximising latency would turn the search upside down.
    wrong_way = torch_form(
        alice_client,
        **{
            "evaluator-torch-accuracy": "none",
            "objectives-0-name": "latency",
            "objectives-0-direction": "max",
        },
    )
    assert field_errors(alice_client.post(CREATE, wrong_way), "objectives-0-direction") == [
        "latency is better smaller: choose min"
    ]
    wrong_unit = torch_form(
        alice_client,
        **{"evaluator-torch-accuracy": "none", "objectives-0-name": "latency", "objectives-0-unit": "s"},
    )
    assert field_errors(alice_client.post(CREATE, wrong_unit), "objectives-0-unit") == [
        "the torch evaluator reports latency in ms"
    ]
    assert not Study.objects.exists()


def test_a_custom_space_with_a_pytorch_evaluator_is_refused(alice_client: Any) -> None:
    data = torch_form(alice_client, space="custom", **{"space-custom-spec": CUSTOM_SPACE})
    errors = field_errors(alice_client.post(CREATE, data), "space-custom-spec")
    assert len(errors) == 1 and "builds HyT-NAS networks" in errors[0]
    data = torch_form(alice_client, "remote", space="benchmark")
    errors = field_errors(alice_client.post(CREATE, data), "space")
    assert len(errors) == 1 and "builds HyT-NAS networks" in errors[0]
    assert not Study.objects.exists()


def test_a_bad_torch_setting_is_shown_at_its_input(alice_client: Any) -> None:
    data = torch_form(alice_client, **{"evaluator-torch-resolution": "8"})
    errors = field_errors(alice_client.post(CREATE, data), "evaluator-torch-resolution")
    assert errors == ["8 is below the minimum 32"]


def test_tables_are_neither_needed_nor_read_for_a_pytorch_evaluator(alice_client: Any, alice: Any) -> None:
    data = torch_form(alice_client)
    data["tables-0-file"] = SimpleUploadedFile("acc.csv", measured_csv("accuracy"), content_type="text/csv")
    assert alice_client.post(CREATE, data).status_code == 302
    assert "tables" not in Study.objects.get(owner=alice).evaluator["params"]


def test_the_form_says_where_each_evaluator_runs_and_offers_its_settings(alice_client: Any) -> None:
    response = alice_client.get(CREATE)
    content = response.content.decode()
    assert "Evaluations run on the evaluations queue (any RQ worker" in content
    assert "Evaluations wait for evaluation workers holding a token" in content
    for evaluator in ("torch", "remote"):
        assert f'name="evaluator-{evaluator}-task"' in content
        assert f'name="evaluator-{evaluator}-accuracy"' in content
    assert "Torch threads during measurement" in content  # the parameters' help texts
    assert ">dispatch<" not in content  # where work runs is a sentence, not a capability badge
    defaults = json.loads(_script(content, "objective-defaults"))  # what the page's script reads
    assert defaults["torch"] == {
        "param": "accuracy",
        "objectives": {
            "naswot": [PROXY, LATENCY],
            "synflow": [{"name": "synflow", "direction": "max", "unit": "log10"}, LATENCY],
            "params": [{"name": "params", "direction": "max", "unit": "parameters"}, LATENCY],
            "macs": [{"name": "macs", "direction": "max", "unit": "MACs"}, LATENCY],
            "trained": [{"name": "accuracy", "direction": "max", "unit": "%"}, LATENCY],
            "none": [LATENCY],
        },
    }
    assert defaults["remote"] == defaults["torch"]
    assert defaults["table"]["param"] is None
    assert "benchmark" not in defaults


def _script(content: str, element_id: str) -> str:
    start = content.index(f'<script id="{element_id}" type="application/json">')
    start = content.index(">", start) + 1
    return content[start : content.index("</script>", start)]


def test_cloning_a_pytorch_study_fills_the_form_with_its_settings(alice_client: Any, alice: Any) -> None:
    data = torch_form(alice_client, "remote", **{"evaluator-remote-repeats": "25"})
    assert alice_client.post(CREATE, data).status_code == 302
    study = Study.objects.get(owner=alice)
    form = alice_client.get(CREATE, {"clone": study.pk}).context["form"]
    assert form["evaluator"].value() == "remote" and form["space"].value() == "hytnas"
    assert form["evaluator-remote-repeats"].value() == 25
    assert [form[f"objectives-{i}-name"].value() for i in range(2)] == ["accuracy_proxy", "latency"]
    clone = form_post_data(alice_client, reverse("studies-create") + f"?clone={study.pk}")
    assert alice_client.post(CREATE, clone).status_code == 302
    assert Study.objects.filter(owner=alice, evaluator_name="remote").count() == 2
