"""A study with a device budget, created in the form of a real headless chromium, run by a real worker.

Selectors this test relies on (templates/studies/create.html, detail.html; static/js/charts.js):
``input[name=constraints-0-quantity]``, ``select[name=constraints-0-bound]``,
``input[name=constraints-0-value]``; ``[data-chart=pareto]`` with its Plotly ``.data`` and
``.layout`` once ``data-rendered="plot"``; ``.page-head [data-field="status"]``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD

STATUS = '.page-head [data-field="status"]'

PARETO = """() => {
    const chart = document.querySelector("[data-chart=pareto]");
    const grey = chart.data.find((trace) => trace.name === "breaks a bound");
    const front = chart.data.find((trace) => trace.name === "Pareto front");
    return {
        grey: grey ? {x: grey.x, colour: grey.marker.color, text: grey.text} : null,
        front: front.x,
        lines: (chart.layout.shapes || []).map((shape) => [shape.x0, shape.line.dash]),
    };
}"""


@pytest.mark.django_db(transaction=True)
def test_a_bound_typed_in_the_form_greys_the_points_that_break_it(
    live_server: Any, alice: Any, start_worker: Any
) -> None:
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:  # no ORM call while the browser is open (see browser.chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/new/")
        page.fill("input[name=name]", "Bounded ZDT1")
        for name, value in {
            "evaluator-benchmark-n_var": "4",
            "n_init": "10",
            "batch_size": "5",
            "budget": "20",
        }.items():
            page.fill(f"input[name={name}]", value)
        page.select_option("select[name=solver]", "nsga2")
        page.fill("input[name=solver-nsga2-pop_size]", "20")
        page.fill("input[name=solver-nsga2-n_gen]", "5")
        assert not page.is_visible("#component-feasibility")  # no bound known only after measuring yet
        page.fill("input[name=constraints-0-quantity]", "f1")
        assert page.is_visible("#component-feasibility")
        page.select_option("select[name=constraints-0-bound]", "lower")
        page.fill("input[name=constraints-0-value]", "0.5")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" not in page.url, page.inner_text(".error-summary")
    study = Study.objects.get(owner=alice)
    assert study.config["constraints"] == [{"quantity": "f1", "bound": "lower", "value": 0.5}]
    services.start_study(study)
    start_worker()

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(live_server.url + reverse("studies-detail", args=[study.pk]))
        page.wait_for_function(
            "(selector) => /completed/i.test(document.querySelector(selector).textContent)",
            arg=STATUS,
            timeout=120_000,  # the worker runs 20 evaluations in 3 iterations
        )
        page.wait_for_function(
            "() => document.querySelector('[data-chart=pareto]').getAttribute('data-rendered') === 'plot'"
        )
        shown = page.evaluate(PARETO)
        assert "f1 at least 0.5" in page.inner_text("section.config")
        screenshot(page, "dashboard-bounded")
    assert problems.all() == []
    assert shown["grey"] is not None, shown
    assert shown["grey"]["colour"] == "#b0b0b0" and all(x < 0.5 for x in shown["grey"]["x"])
    assert all(text.startswith("f1 at least 0.5 (by ") for text in shown["grey"]["text"])
    assert shown["front"] and all(x >= 0.5 for x in shown["front"])
    assert shown["lines"] == [[0.5, "dash"]]
