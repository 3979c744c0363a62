"""The study page as a dashboard: charts embedded as JSON, empty state, failures apart, escaping, links."""

from __future__ import annotations

import json
import re
from typing import Any

from django.urls import reverse

from hytnas_web.lib.plotly_assets import plotly_js
from hytnas_web.studies.models import Iteration, Study
from tests.web.stored_config import store_config
from tests.web.test_dashboard_data import add_evaluation, add_iteration


def page(client: Any, study: Study) -> str:
    response = client.get(reverse("studies-detail", args=[study.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def figure(content: str, name: str) -> Any:
    match = re.search(rf'<script id="chart-{name}" type="application/json">(.*?)</script>', content, re.S)
    assert match, f"no json_script for {name}"
    return json.loads(match.group(1))


def test_an_empty_study_shows_notes_instead_of_charts(alice_client: Any, alice: Any, make_study: Any) -> None:
    content = page(alice_client, make_study(alice))
    for name in ("pareto", "hypervolume", "stage_latency", "stage_share", "fidelity", "timing"):
        assert f'data-chart="{name}"' in content
        assert figure(content, name) is None
    assert "Nothing measured yet" in content and "No hypervolume yet" in content
    assert "Nothing evaluated yet" in content
    assert f'src="/static/{plotly_js()[0]}"' in content
    for script in ("charts", "dashboard"):  # a content hash in the name once collected (runstack)
        assert re.search(rf'src="/static/js/{script}(\.[0-9a-f]{{12}})?\.js"', content), script


def test_a_measured_study_embeds_its_figures_and_polling_details(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    iteration = add_iteration(
        study, 0, status=Iteration.Status.DONE, hypervolume=0.4, n_evaluations=2, timings={"evaluate": 1.5}
    )
    add_evaluation(
        study, iteration, "a", [0.2, 0.8], stage_latency={"backbone": 2.0, "neck": 1.0, "head": 1.0}
    )
    add_evaluation(
        study, iteration, "b", [0.6, 0.3], stage_latency={"backbone": 1.0, "neck": 1.0, "head": 0.0}
    )
    study.refresh_from_db()
    content = page(alice_client, study)
    pareto = figure(content, "pareto")
    assert pareto["data"][0]["type"] == "scatter" and len(pareto["data"][0]["x"]) == 2
    assert figure(content, "hypervolume")["data"][0]["customdata"] == [0]
    assert figure(content, "stage_latency")["layout"]["barmode"] == "stack"
    assert figure(content, "timing")["data"][3]["y"] == [1.5]
    assert figure(content, "fidelity") is None and "initial design is not predicted" in content
    assert f'data-url="{reverse("studies-dashboard-data", args=[study.pk])}"' in content
    assert 'data-active="true"' in content and 'data-status="running"' in content
    assert 'data-version="' in content


def test_failed_evaluations_are_listed_apart(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    iteration = add_iteration(study, 0, status=Iteration.Status.DONE, hypervolume=0.1, n_evaluations=2)
    add_evaluation(study, iteration, "a", [0.2, 0.8])
    failed = add_evaluation(study, iteration, "b", None)
    content = page(alice_client, study)
    assert "Failed evaluations (<span" in content
    assert f"#{failed.pk}</span> · iteration 0" in content and "evaluation raised RuntimeError" in content
    assert len(figure(content, "pareto")["data"][0]["x"]) == 1  # the failure is not plotted


def test_hostile_names_are_escaped_on_the_page(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice, name="<script>alert('name')</script>")
    store_config(
        study,
        objectives=[
            {"name": "</script><script>alert(1)</script>", "direction": "min", "unit": "<b>ms</b>"},
            {"name": "f2", "direction": "min", "unit": ""},
        ],
    )
    iteration = add_iteration(study, 0, status=Iteration.Status.DONE, hypervolume=0.1, n_evaluations=1)
    add_evaluation(study, iteration, "a", [0.2, 0.8])
    content = page(alice_client, study)
    assert "<script>alert" not in content and "<b>ms</b>" not in content
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in content
    # In the embedded figure the name is HTML-escaped for Plotly and JSON-escaped for the page.
    axis = figure(content, "pareto")["layout"]["xaxis"]["title"]["text"]
    assert axis.startswith("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; (&lt;b&gt;ms&lt;/b&gt;)")


def test_a_big_study_lists_only_its_newest_evaluations(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice, budget=100)
    iteration = add_iteration(study, 0, status=Iteration.Status.DONE, hypervolume=0.1, n_evaluations=30)
    created = [add_evaluation(study, iteration, f"k{i}", [i / 30, 1 - i / 30]) for i in range(30)]
    response = alice_client.get(reverse("studies-detail", args=[study.pk]))
    shown = [e.pk for e in response.context["evaluations"]]
    assert shown == [e.pk for e in created[-20:]]
    assert "The 20 newest of 30 evaluations." in response.content.decode()
    assert len(figure(response.content.decode(), "pareto")["data"][0]["x"]) == 30


def test_an_ended_study_is_marked_so_the_page_does_not_poll(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.COMPLETED)
    content = page(alice_client, study)
    assert 'data-status="completed"' in content and 'data-active="false"' in content
