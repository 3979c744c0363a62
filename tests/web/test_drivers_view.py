"""The page that says what drives each objective: importance, a slice and a contour of a real study."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study


def measured_zdt1(make_study: Any, owner: User, n_init: int = 24) -> Study:
    """A ZDT1 study (4 variables) whose initial design of ``n_init`` is measured."""
    study = make_study(owner, name="ZDT1 drivers", n_init=n_init, budget=n_init + 10)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    return Study.objects.get(pk=study.pk)


def figure(content: str, name: str) -> dict[str, Any]:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', content, re.S)
    assert found, f"no {name} figure in the page"
    return dict(json.loads(found.group(1)))


def test_zdt1s_first_objective_is_driven_by_x0_and_the_page_says_what_it_rests_on(
    alice_client: Any, alice: User, make_study: Any, rq_queues: str
) -> None:
    study = measured_zdt1(make_study, alice)
    response = alice_client.get(reverse("studies-drivers", args=[study.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    page = response.context["page"]
    f1 = next(result for result in page.importance if result.objective == "f1")
    assert f1.variables[0] == "x0" and f1.shares[0] > 0.9
    assert "Estimated from <strong>24</strong> measured architectures" in content
    assert "xgboost" in content and "Kendall τ" in content
    rows = response.context["rows"]
    assert rows[0]["variable"] == "x0" and len(rows) == 4  # one row per variable
    # The slice and the contour default to the first objective's most important variables.
    assert page.variable == "x0" and page.x_variable == "x0" and page.y_variable != "x0"
    slice_figure = figure(content, "drivers-slice")
    assert [trace["name"] for trace in slice_figure["data"]] == ["measured", "surrogate (others averaged)"]
    assert len(slice_figure["data"][0]["x"]) == 24
    assert figure(content, "drivers-contour")["data"][0]["type"] == "contour"
    dashboard = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert reverse("studies-drivers", args=[study.pk]) in dashboard


def test_the_choices_change_the_slice_and_a_stale_choice_falls_back(
    alice_client: Any, alice: User, make_study: Any, rq_queues: str
) -> None:
    study = measured_zdt1(make_study, alice, n_init=12)
    url = reverse("studies-drivers", args=[study.pk])
    chosen = alice_client.get(url, {"objective": "f2", "variable": "x2", "x": "x1", "y": "x3"}).context[
        "page"
    ]
    assert (chosen.objective, chosen.variable, chosen.x_variable, chosen.y_variable) == (
        "f2",
        "x2",
        "x1",
        "x3",
    )
    stale = alice_client.get(url, {"objective": "gone", "variable": "<b>", "x": "x1", "y": "x1"})
    assert stale.status_code == 200
    page = stale.context["page"]
    assert page.objective == "f1" and page.variable == "x0" and page.y_variable != "x1"


def test_with_too_few_measurements_the_page_says_how_many_it_needs(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice)
    content = alice_client.get(reverse("studies-drivers", args=[study.pk])).content.decode()
    assert "0 architectures measured so far" in content and "8 or more" in content


def test_bob_does_not_see_what_drives_alices_study(bob_client: Any, alice: User, make_study: Any) -> None:
    study = make_study(alice)
    assert bob_client.get(reverse("studies-drivers", args=[study.pk])).status_code == 404
