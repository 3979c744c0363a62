"""The live dashboard in a real headless chromium while a real RQ worker runs the study.

Selectors this test relies on (templates/studies/detail.html, dashboard_charts.html,
dashboard_progress.html, static/js/charts.js and dashboard.js):

- ``[data-chart]``: one element per chart, named by the attribute's value; charts.js sets
  ``data-rendered="plot"`` once Plotly has drawn into it (it then has the ``js-plotly-plot`` class
  and its traces in ``.data``) or ``data-rendered="note"`` when it shows its ``[data-note]`` text
  instead (an empty chart, or per-stage latency for an evaluator that reports none).
- ``section.progress progress``: the progress bar, whose ``value`` is the evaluations done.
- ``.page-head [data-field="status"]``: the status badge, reading "Completed" at the end.
- ``/studies/<pk>/data.json``: what the page polls, one request at a time, answering 200 or 304,
  and no longer once the study has ended.

Screenshots of the running and the finished dashboard go to var/screenshots/ for people to look at.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.browser import PageProblems, RequestTracker, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD

CHARTS = "[data-chart]"
PROGRESS = "section.progress progress"
STATUS = '.page-head [data-field="status"]'
DATA_URL = re.compile(r"/studies/\d+/data\.json")
# A finished ZDT1 study plots these; the benchmark evaluator measures no per-stage latency, so
# those charts must say so in a note rather than draw an empty plot.
PLOTS_AT_END = {"pareto", "hypervolume", "fidelity", "timing"}
NOTES_AT_END = {"stage_latency", "stage_share"}
QUIET_SECONDS = 4.0  # how long a finished dashboard must go without polling
BUDGET = 40
DELAY = 0.2  # seconds per evaluation: a 10-architecture batch takes 2 s, the study ~10-20 s

CHARTS_DRAWN = """(selector) => {
    const charts = [...document.querySelectorAll(selector)];
    return charts.length > 0 && charts.every((chart) => chart.hasAttribute("data-rendered"));
}"""

# name -> how it is shown: "plot" with its number of traces, or "note" with the note's text.
CHART_STATES = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map((chart) => {
    const name = chart.getAttribute("data-chart");
    const rendered = chart.getAttribute("data-rendered");
    const plotted = chart.classList.contains("js-plotly-plot") && Array.isArray(chart.data);
    const note = document.querySelector(`[data-note="${name}"]`);
    return [name, {
        rendered: rendered,
        traces: plotted ? chart.data.length : 0,
        note: note && !note.classList.contains("hidden") ? note.textContent.trim() : "",
    }];
}))"""


def progress_value(page: Any) -> float:
    return float(page.eval_on_selector(PROGRESS, "(bar) => bar.value"))


@pytest.mark.django_db(transaction=True)
def test_dashboard_draws_every_chart_and_follows_a_running_study_without_reloading(
    live_server: Any, alice: Any, make_study: Any, start_worker: Any
) -> None:
    chromium_path()  # skip (or fail in CI) before any worker starts when there is no browser
    study = make_study(
        alice,
        name="Browser <b>ZDT1</b>",
        evaluator={"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": DELAY}},
        budget=BUDGET,
    )
    services.start_study(study)
    start_worker()
    url = live_server.url + reverse("studies-detail", args=[study.pk])

    # No ORM call from here until the browser is closed (see browser.chromium).
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, live_server.url, "alice", PASSWORD)

        problems = PageProblems().watch(page)
        polls = RequestTracker(DATA_URL).watch(page)
        page.goto(url)
        page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page ever reloads

        page.wait_for_function(CHARTS_DRAWN, arg=CHARTS)
        charts = page.evaluate(CHART_STATES, CHARTS)
        assert set(charts) >= PLOTS_AT_END | NOTES_AT_END, charts
        for name, state in charts.items():  # while running, an empty chart shows its note instead
            assert state["traces"] > 0 if state["rendered"] == "plot" else state["note"], (name, state)

        first = progress_value(page)
        assert first < BUDGET, "the study finished before the dashboard was opened; raise DELAY"
        page.wait_for_function(
            "([selector, first]) => document.querySelector(selector).value > first",
            arg=[PROGRESS, first],
            timeout=60_000,
        )
        screenshot(page, "dashboard-running")

        page.wait_for_function(
            "(selector) => /completed/i.test(document.querySelector(selector).textContent)",
            arg=STATUS,
            timeout=90_000,
        )
        page.wait_for_function(CHARTS_DRAWN, arg=CHARTS)
        page.wait_for_function(
            "([selector, budget]) => document.querySelector(selector).value >= budget",
            arg=[PROGRESS, BUDGET],
            timeout=10_000,
        )
        assert page.evaluate("() => window.__sameDocument === true"), "the dashboard reloaded itself"

        polls_at_end = polls.started
        time.sleep(QUIET_SECONDS)
        assert polls.started == polls_at_end, "the dashboard kept polling after the study ended"
        assert polls.started > 0, "the dashboard never asked for updates"
        assert polls.max_in_flight == 1, f"{polls.max_in_flight} update requests were in flight at once"
        assert set(polls.statuses) <= {200, 304}, polls.statuses

        final = page.evaluate(CHART_STATES, CHARTS)
        for name in PLOTS_AT_END:
            assert final[name]["rendered"] == "plot" and final[name]["traces"] > 0, (name, final[name])
        for name in NOTES_AT_END:
            assert final[name]["rendered"] == "note" and final[name]["note"], (name, final[name])
        assert "<b>" in page.inner_text(".page-head h1"), "the study name was not shown escaped"
        screenshot(page, "dashboard-completed")

        assert problems.all() == []

    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    assert study.evaluations.count() == BUDGET
