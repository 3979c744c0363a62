"""The Content-Security-Policy in a real headless chromium: every main page works under it, unloosened.

Each page is opened with a listener for ``securitypolicyviolation`` events installed before any of
its scripts run; a page passes when it reports no violation and no console error, and its own
scripts did their work (charts drawn by plotly, the form's and the tokens page's scripts active).
The last step injects an inline script and an inline style on purpose, to show the listener and the
policy are really there.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__cspViolations.push(
        `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ` +
        `${event.sourceFile}:${event.lineNumber}:${event.columnNumber} ${event.sample}`
    );
});
"""

CHARTS_DRAWN = """() => {
    const charts = [...document.querySelectorAll("[data-chart]")];
    return charts.length > 0 && charts.every((chart) => chart.hasAttribute("data-rendered"));
}"""

PLOTTED = """() => [...document.querySelectorAll(".js-plotly-plot")].filter(
    (chart) => Array.isArray(chart.data) && chart.data.length > 0 && chart.querySelector("svg.main-svg")
).length"""

# A rule of plotly's own stylesheet (added through the CSSOM): the mode bar is hidden until hover.
PLOTLY_STYLES_APPLIED = """() => {
    const bar = document.querySelector(".js-plotly-plot .modebar");
    return bar !== null && getComputedStyle(bar).position === "absolute";
}"""


def violations(page: Any) -> list[str]:
    return list(page.evaluate("() => window.__cspViolations"))


@pytest.mark.django_db(transaction=True)
def test_the_main_pages_work_under_the_policy_with_no_violation(
    live_server: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    chromium_path()
    studies = []
    for name in ("CSP one", "CSP two"):
        study = make_study(alice, name=name)
        services.start_study(study)
        services.run_iteration(study.pk, 0, job_id="in-test")
        services.run_iteration(study.pk, 1, job_id="in-test")
        studies.append(study)
    first, second = studies
    evaluation = first.evaluations.order_by("id").first()
    assert evaluation is not None
    services.issue_token(alice, "pi-5", first)
    base = live_server.url
    pages = {
        "list": reverse("studies-list"),
        "create": reverse("studies-create"),
        "dashboard": reverse("studies-detail", args=[first.pk]),
        "architectures": reverse("studies-architectures", args=[first.pk]),
        "architecture": reverse("studies-architecture", args=[first.pk, evaluation.pk]),
        "compare": reverse("studies-compare") + f"?ids={first.pk}&ids={second.pk}",
        "import": reverse("studies-import", args=[first.pk]),
        "tokens": reverse("studies-tokens"),
        "delete": reverse("studies-delete", args=[second.pk]),
        "drivers": reverse("studies-drivers", args=[first.pk]),
    }
    seen: dict[str, list[str]] = {}

    # No ORM call from here until the browser is closed (see browser.chromium).
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(WATCH_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(30_000)
        problems = PageProblems().watch(page)

        page.goto(f"{base}{reverse('login')}")
        seen["login"] = violations(page)
        log_in(page, base, "alice", PASSWORD)

        for name, path in pages.items():
            response = page.goto(base + path)
            assert response is not None and response.status == 200, (name, response and response.status)
            assert "script-src 'self'" in response.headers["content-security-policy"], name
            if name == "dashboard":
                page.wait_for_function(CHARTS_DRAWN)
                assert page.evaluate(PLOTTED) >= 3, "plotly drew too few charts on the dashboard"
                page.hover("[data-chart=pareto] .nsewdrag")  # hover labels and the mode bar
                page.wait_for_function(PLOTLY_STYLES_APPLIED)
                screenshot(page, "csp-dashboard")
                # plotly's PNG export loads the chart's SVG into an <img> from a blob: URL (img-src)
                with page.expect_download() as download:
                    page.click("[data-chart=pareto] .modebar-btn[data-title='Download plot as a PNG']")
                assert download.value.suggested_filename.endswith(".png")
            elif name in ("compare", "drivers"):
                page.wait_for_function(f"() => ({PLOTTED})() >= 2")
                screenshot(page, f"csp-{name}")
                page.wait_for_function(PLOTLY_STYLES_APPLIED)
            elif name == "create":
                page.check("input[name=evaluator][value=torch]")  # study_form.js fills the objectives
                page.wait_for_function(
                    "() => document.querySelector('[data-objective-row] input').value === 'accuracy_proxy'"
                )
            elif name == "tokens":
                page.fill("input[name=name]", "bench board")
                with page.expect_navigation():
                    page.click("form[action$='/workers/tokens/'] button[type=submit]")
                page.wait_for_function("() => !document.querySelector('button[data-copy]').hidden")
            seen[name] = violations(page)

        assert seen == {name: [] for name in ("login", *pages)}
        assert problems.all() == []

        # The policy is really enforced, and the listener would have seen a violation.
        page.goto(base + pages["list"])
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.__inlineRan = true;";
                document.body.appendChild(script);
                const box = document.createElement("div");
                box.innerHTML = '<p id="styled" style="color: rgb(255, 0, 0)">red?</p>';
                document.body.appendChild(box);
            }"""
        )
        page.wait_for_function("() => window.__cspViolations.length >= 2")
        assert page.evaluate("() => window.__inlineRan === undefined")
        assert (
            page.evaluate("() => getComputedStyle(document.getElementById('styled')).color")
            != "rgb(255, 0, 0)"
        )
        directives = {v.split(" ")[0] for v in violations(page)}
        assert {"script-src-elem", "style-src-attr"} <= directives, violations(page)
