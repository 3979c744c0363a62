"""Clicking a point of the Pareto chart opens that architecture, in a real headless chromium.

Points are clicked at their drawn positions (computed from plotly's own axes): each point of the
front, drawn over the evaluated ones, and evaluated points. Where several architectures are drawn at
one spot, any of them may open, but never one drawn elsewhere.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from hytnas_web.studies import services
from tests.web.browser import PageProblems, chromium, chromium_path, log_in
from tests.web.conftest import PASSWORD

POINTS = """(trace) => {
    const chart = document.querySelector('[data-chart="pareto"]');
    const box = chart.querySelector(".nsewdrag").getBoundingClientRect();
    const xa = chart._fullLayout.xaxis, ya = chart._fullLayout.yaxis, data = chart.data[trace];
    return data.x.map((x, i) => ({
        id: data.customdata[i],
        x: box.left + xa.l2p(x),
        y: box.top + ya.l2p(data.y[i]),
    }));
}"""

SAME_SPOT_PIXELS = 4.0
"""Markers whose centres are this close overlap: a click there may open either."""


@pytest.mark.django_db(transaction=True)
def test_clicking_a_point_of_the_pareto_chart_opens_the_architecture_drawn_there(
    live_server: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    chromium_path()
    study = make_study(alice, name="Clicks")
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    services.run_iteration(study.pk, 1, job_id="in-test")
    dashboard = f"{live_server.url}/studies/{study.pk}/"
    wrong: list[str] = []
    clicked = 0
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(dashboard)
        page.wait_for_selector('[data-chart="pareto"][data-rendered="plot"]')
        everything = page.evaluate(POINTS, 0)
        targets = page.evaluate(POINTS, 1) + everything[:8]  # the front, then evaluated points
        for point in targets:
            there = {
                other["id"]
                for other in everything
                if math.dist((other["x"], other["y"]), (point["x"], point["y"])) <= SAME_SPOT_PIXELS
            }
            page.mouse.move(point["x"], point["y"])
            with page.expect_navigation(timeout=15_000):
                page.mouse.click(point["x"], point["y"])
            opened = re.search(r"/architectures/(\d+)/$", page.url)
            clicked += 1
            if opened is None or int(opened.group(1)) not in there:
                wrong.append(f"point {point['id']} (drawn with {sorted(there)}) opened {page.url}")
            page.goto(dashboard)
            page.wait_for_selector('[data-chart="pareto"][data-rendered="plot"]')
    assert clicked > 8 and wrong == []
    assert problems.all() == []
