"""An external study's pending architectures in a real headless chromium: seen, one result typed in.

Selectors: ``tr[data-pending]`` (one row per pending architecture on the study page, with its
"Enter result" link), ``[data-count=pending]``, the entry form's inputs by name (``objective_0``, ...)
and its errors (``.has-error .errorlist``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies.models import Evaluation
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD
from tests.web.test_external_api import running_external_study


@pytest.mark.django_db(transaction=True)
def test_alice_sees_the_pending_architectures_and_types_a_result_in(
    live_server: Any, alice: Any, rq_queues: str
) -> None:
    chromium_path()
    study = running_external_study(alice)
    first = study.evaluations.order_by("id")[0].pk
    base, dashboard = live_server.url, reverse("studies-detail", args=[study.pk])
    # No ORM call from here until the browser is closed (see browser.chromium).
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        problems = PageProblems().watch(page)
        log_in(page, base, "alice", PASSWORD)
        page.goto(base + dashboard)
        assert page.locator("tr[data-pending]").count() == 3
        assert page.text_content("[data-count=pending]") == "3"
        with page.expect_navigation():
            page.click(f"tr[data-pending='{first}'] a:text('Enter result')")
        page.fill("input[name=objective_0]", "not measured yet")
        with page.expect_navigation():
            page.click("button:text('Record')")
        assert "is not a number" in page.text_content(".has-error .errorlist")
        screenshot(page, "pending-entry")
        # The refused entry answered 400, as it should, and nothing else went wrong.
        refused = problems.all()
        assert refused and all("400" in p and "/pending/" in p for p in refused), refused
        problems.bad_requests.clear()
        problems.console_errors.clear()
        page.fill("input[name=objective_0]", "71.5")
        page.fill("input[name=objective_1]", "4.25")
        with page.expect_navigation():
            page.click("button:text('Record')")
        assert page.url == base + dashboard
        assert f"Evaluation {first} recorded as measured" in page.text_content(".messages")
        assert page.locator("tr[data-pending]").count() == 2
        assert page.locator(f"tr[data-pending='{first}']").count() == 0
        screenshot(page, "pending-work")
        assert problems.all() == []
    evaluation = Evaluation.objects.get(pk=first)
    assert evaluation.objectives == [71.5, 4.25] and evaluation.device["source"] == "entered by hand"
