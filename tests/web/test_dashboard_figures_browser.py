"""The dashboard's figures in a real headless chromium: what the live updates change without a reload.

Selectors (templates/studies/detail.html, dashboard_progress.html, static/js/dashboard.js):
``[data-field="reference_point"]`` is the configuration panel's reference point;
``section.progress progress`` the progress bar beside ``[data-field="evaluations"]`` ("done / budget");
``.page-head [data-field="status"]`` the status badge; ``[data-field="live"]`` the live-update line;
``[data-field="iteration"]`` the iteration figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD

REFERENCE_POINT = '[data-field="reference_point"]'
STATUS = '.page-head [data-field="status"]'
NOT_YET_DERIVED = "derived from the initial design once it is measured"
DERIVED = re.compile(r"^\([-\d.e+]+, [-\d.e+]+\) — derived from the initial design$")
DELAY = 0.2  # seconds per evaluation: the 10-architecture initial design takes 2 s once a worker runs
RUN_TIMEOUT_MS = 120_000  # generous: a loaded machine starts a worker and runs the study slowly

SHOWS_TEXT_MATCHING = """([selector, pattern]) =>
    new RegExp(pattern).test(document.querySelector(selector).textContent.trim())"""

# Every change the live updates make to the page is checked at once (a MutationObserver runs after
# the update's script has finished), and each disagreement between two figures is kept.
WATCH_FIGURES = """() => {
    window.__disagreements = [];
    const text = (selector) => (document.querySelector(selector) || {}).textContent || "";
    const check = () => {
        const bar = document.querySelector("section.progress progress");
        const evaluations = text('[data-field="evaluations"]').trim();
        if (evaluations !== `${bar.value} / ${bar.max}`) {
            window.__disagreements.push(`"${evaluations}" beside a bar at ${bar.value} of ${bar.max}`);
        }
        const status = text('.page-head [data-field="status"]').trim();
        if (/ended/.test(text('[data-field="live"]')) && /running|paused|draft/i.test(status)) {
            window.__disagreements.push(`"${status}" beside "the study has ended"`);
        }
        const iteration = text('[data-field="iteration"]').trim();
        if (/completed|cancelled|failed/i.test(status) && /^\\d+ of \\d+$/.test(iteration)) {
            window.__disagreements.push(`"Iteration ${iteration}" on a study that is ${status}`);
        }
    };
    const everything = { subtree: true, childList: true, characterData: true, attributes: true };
    new MutationObserver(check).observe(document.body, everything);
    check();
}"""


FIGURES = (
    "reference_point",
    "evaluations",
    "n_failed",
    "n_pending_text",
    "initial_design_text",
    "iteration",
    "best_hypervolume",
)
"""The ``[data-field]`` figures a live update writes and a reload renders on the server."""

READ_FIGURES = """(names) => Object.fromEntries(names.map((name) =>
    [name, document.querySelector(`[data-field="${name}"]`).textContent.trim()]))"""


@dataclass
class Run:
    """What the dashboard showed of a study run by a real worker while the page stayed open."""

    before: dict[str, str]
    """The figures when the page opened, before the worker started."""
    live: dict[str, str]
    """The figures once the live updates said the study had ended."""
    reloaded: dict[str, str]
    """The same figures on the page loaded again."""
    disagreements: list[str]
    """Figures that contradicted each other at some update (``WATCH_FIGURES``)."""


def watch_the_run(live_server: Any, study: Any, start_worker: Any, waiting_for: str | None = None) -> Run:
    """Open the started ``study``'s dashboard, start a worker and follow the study to its end.

    ``waiting_for``: a pattern the reference point must come to match while the page is open.
    """
    url = live_server.url + reverse("studies-detail", args=[study.pk])
    # No ORM call from here until the browser is closed (see browser.chromium).
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, live_server.url, "alice", PASSWORD)
        problems = PageProblems().watch(page)
        page.goto(url)
        page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page ever reloads
        page.evaluate(WATCH_FIGURES)
        before = page.evaluate(READ_FIGURES, FIGURES)

        start_worker()
        if waiting_for is not None:
            page.wait_for_function(
                SHOWS_TEXT_MATCHING, arg=[REFERENCE_POINT, waiting_for], timeout=RUN_TIMEOUT_MS
            )
        page.wait_for_function(
            "(selector) => /completed/i.test(document.querySelector(selector).textContent)",
            arg=STATUS,
            timeout=RUN_TIMEOUT_MS,
        )
        page.wait_for_function(
            "() => /ended/.test(document.querySelector('[data-field=\"live\"]').textContent)",
            timeout=30_000,
        )
        assert page.evaluate("() => window.__sameDocument === true"), "the dashboard reloaded itself"
        live = page.evaluate(READ_FIGURES, FIGURES)
        disagreements = page.evaluate("() => window.__disagreements")
        screenshot(page, f"dashboard-live-{study.pk}")

        page.reload()
        reloaded = page.evaluate(READ_FIGURES, FIGURES)
        assert problems.all() == []
    return Run(before, live, reloaded, disagreements)


@pytest.mark.django_db(transaction=True)
def test_the_derived_reference_point_and_the_progress_figures_update_live_and_agree(
    live_server: Any, alice: Any, make_study: Any, start_worker: Any
) -> None:
    chromium_path()  # skip (or fail in CI) before any worker starts when there is no browser
    study = make_study(
        alice,
        name="Derived reference point",
        evaluator={"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": DELAY}},
        ref_point=None,
        budget=30,
    )
    services.start_study(study)  # queued: nothing runs until the worker starts
    run = watch_the_run(live_server, study, start_worker, waiting_for=DERIVED.pattern)

    assert run.before["reference_point"] == NOT_YET_DERIVED
    assert DERIVED.match(run.live["reference_point"]), run.live
    assert run.live == run.reloaded, "the live page and a reload disagree"
    assert run.live["evaluations"] == "30 / 30"
    assert run.live["iteration"].startswith("completed after"), run.live
    assert run.disagreements == [], run.disagreements


@pytest.mark.django_db(transaction=True)
def test_a_large_hypervolume_reads_the_same_live_as_after_a_reload(
    live_server: Any, alice: Any, make_study: Any, start_worker: Any
) -> None:
    chromium_path()
    study = make_study(
        alice,
        name="Far reference point",
        evaluator={"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": DELAY}},
        ref_point=[200.0, 200.0],  # a hypervolume near 40,000, written with an exponent
        budget=20,
    )
    services.start_study(study)
    run = watch_the_run(live_server, study, start_worker)

    assert run.live == run.reloaded, "the live page and a reload disagree"
    assert run.disagreements == [], run.disagreements


def run_inline(study: Any) -> None:
    """Start ``study`` and run each of its iterations in this process until it has ended."""
    from hytnas_web.studies.models import Iteration, Study

    services.start_study(study)
    for _ in range(20):
        study.refresh_from_db()
        if study.status != Study.Status.RUNNING:
            return
        current = study.iterations.exclude(status=Iteration.Status.DONE).order_by("index").first()
        assert current is not None, "a running study with no iteration to run"
        services.run_iteration(study.pk, current.index, job_id="in-test")
    raise AssertionError("the study did not end within 20 iterations")


# The rectangle the 3-D scene is drawn in (Plotly cuts off whatever falls outside it), in page pixels.
SCENE_BOX = """() => {
    const chart = document.querySelector('[data-chart="pareto"]');
    const size = chart._fullLayout._size, domain = chart._fullLayout.scene.domain;
    const box = chart.getBoundingClientRect();
    return {
        x: box.left + window.scrollX + size.l + domain.x[0] * size.w,
        y: box.top + window.scrollY + size.t + (1 - domain.y[1]) * size.h,
        width: (domain.x[1] - domain.x[0]) * size.w,
        height: (domain.y[1] - domain.y[0]) * size.h,
    };
}"""

# Dark pixels (labels, points, axis lines) on the outermost two pixels of a PNG: what was cut off.
DARK_AT_EDGES = """async (base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const image = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const { data, width, height } = context.getImageData(0, 0, image.width, image.height);
    let dark = 0;
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            if (x > 1 && x < width - 2 && y > 1 && y < height - 2) continue;
            const i = 4 * (y * width + x);
            if ((data[i] + data[i + 1] + data[i + 2]) / 3 < 160) dark++;
        }
    }
    return dark;
}"""

BOX_HEIGHTS = """() => Object.fromEntries([...document.querySelectorAll(".chart-box")].map((box) => {
    const chart = box.querySelector("[data-chart]");
    const height = box.getBoundingClientRect().height;
    const state = { height: height, rendered: chart.getAttribute("data-rendered") };
    return [chart.getAttribute("data-chart"), state];
}))"""

ALL_DRAWN = (
    "() => [...document.querySelectorAll('[data-chart]')].every((c) => c.hasAttribute('data-rendered'))"
)


@pytest.mark.django_db(transaction=True)
def test_a_three_objective_front_shows_whole_and_empty_panels_stay_one_line(
    live_server: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    import base64

    chromium_path()
    study = make_study(
        alice,
        name="Three objectives",
        evaluator={"name": "benchmark", "params": {"problem": "dtlz2", "n_var": 4, "n_obj": 3}},
        objectives=[{"name": f"f{i}", "direction": "min", "unit": ""} for i in (1, 2, 3)],
        ref_point=None,
        budget=40,
    )
    run_inline(study)
    study.refresh_from_db()
    assert study.status == "completed", study.error
    url = live_server.url + reverse("studies-detail", args=[study.pk])

    # No ORM call from here until the browser is closed (see browser.chromium).
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, live_server.url, "alice", PASSWORD)
        problems = PageProblems().watch(page)
        page.goto(url)
        page.wait_for_function(ALL_DRAWN)
        page.wait_for_timeout(1_000)  # the WebGL scene draws after the chart is marked drawn
        boxes = page.evaluate(BOX_HEIGHTS)
        scene = page.screenshot(clip=page.evaluate(SCENE_BOX), full_page=True)
        blank = browser.new_page()  # decode the picture where no page's policy applies
        dark_at_edges = blank.evaluate(DARK_AT_EDGES, base64.b64encode(scene).decode())
        screenshot(page, "dashboard-three-objectives")
        assert problems.all() == []

    assert dark_at_edges == 0, f"{dark_at_edges} dark pixels on the 3-D scene's edges: labels cut off"
    plotted = [b["height"] for name, b in boxes.items() if b["rendered"] == "plot" and name != "pareto"]
    notes = {name: b["height"] for name, b in boxes.items() if b["rendered"] == "note"}
    assert set(notes) == {"stage_latency", "stage_share"}, boxes  # a benchmark has no stage latency
    for name, height in notes.items():
        assert height < min(plotted) / 4, (
            f"the {name} note is {height:.0f} px tall beside charts of {plotted}"
        )
