"""The architectures table in a real headless chromium: sort and filter by a design variable, then
tick two rows and see them side by side.

Selectors (templates/studies/architectures_table.html, architecture_filters.html,
compare_architectures.html): ``th[data-variable=<name>] a`` sorts, ``details.variable-filters``
holds one select per choice variable, row checkboxes ``input[name=architectures]`` belong to
``form#compare-picked``; the side-by-side tables mark a differing cell ``td.differs`` with a ``≠``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD
from tests.web.test_architectures_view import hytnas_study

WIDER_THAN_THE_WINDOW = "() => document.documentElement.scrollWidth - window.innerWidth"
COLUMN_VALUES = (
    "(column) => [...document.querySelectorAll('#architectures-table tbody tr')]"
    ".map(row => row.children[column].innerText.trim())"
)


@pytest.mark.django_db(transaction=True)
def test_alice_sorts_and_filters_by_a_variable_and_compares_two_architectures(
    live_server: Any, alice: Any, make_study: Any
) -> None:
    chromium_path()
    study = hytnas_study(alice, make_study, 60, seed=8)
    wanted = sorted(e.pk for e in study.evaluations.all() if e.architecture["patch_stage3"] == 4)
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/{study.pk}/architectures/")
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == 0  # 23 variable columns scroll inside the table

        header = page.locator("th[data-variable=blocks_stage2]")
        with page.expect_navigation():
            header.locator("a").click()
        assert header.get_attribute("aria-sort") == "ascending"
        column = page.evaluate(
            "() => [...document.querySelectorAll('#architectures-table thead th')]"
            ".findIndex(th => th.dataset.variable === 'blocks_stage2')"
        )
        blocks = [int(v) for v in page.evaluate(COLUMN_VALUES, column)]
        assert blocks == sorted(blocks) and len(blocks) == 50 and blocks[0] < blocks[-1]

        page.click("details.variable-filters summary")
        page.select_option("fieldset[data-variable=patch_stage3] select", "4")
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        count = page.inner_text("#architectures-count")
        assert f"{len(wanted)} of 60 architectures match" in count
        shown = page.evaluate(COLUMN_VALUES, 1)  # the id column, after the checkboxes
        assert sorted(int(v) for v in shown) == wanted
        assert page.locator("th[data-variable=blocks_stage2]").get_attribute("aria-sort") == "ascending"
        screenshot(page, "architectures-filtered-by-a-variable")

        first, second = page.locator("#architectures-table input[name=architectures]").all()[:2]
        first.check()
        second.check()
        with page.expect_navigation():
            page.click("form#compare-picked button[type=submit]")
        assert page.inner_text("h1") == "Compare architectures"
        assert page.locator("#compare-architectures-stages tbody").count() == 10  # a row pair per stage
        marked = page.locator("#compare-architectures-variables td.differs")
        assert marked.count() >= 2 and "≠" in marked.first.inner_text()
        same_patch = page.locator("#compare-architectures-variables tr", has_text="patch_stage3")
        assert same_patch.locator("td.differs").count() == 0  # both were filtered to patch 4
        screenshot(page, "architectures-side-by-side")
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == 0

        with page.expect_navigation():
            page.click("#compare-architectures-objectives thead a >> nth=0")
        assert page.locator("#network-stages tr.stage-stage3").is_visible()
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == 0
        screenshot(page, "architecture-network-by-stage")
    assert problems.all() == []
