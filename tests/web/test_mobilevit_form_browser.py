"""The study form in a headless chromium: a PyTorch study of the MobileViT extension, with its references.

Selectors: ``input[name=evaluator]`` and ``input[name=space]`` radios (templates/studies/create.html),
``input[name=evaluator-<key>-measure_references]`` (component_fields.html), the form's primary submit.
"""

from __future__ import annotations

from typing import Any

import pytest

from hytnas_web.studies.models import Study
from tests.web.browser import PageProblems, chromium, chromium_path, log_in
from tests.web.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_the_mobilevit_space_stays_chosen_across_pytorch_evaluators_and_its_references_are_asked(
    live_server: Any, alice: Any
) -> None:
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/new/")
        page.check("input[name=evaluator][value=torch]")
        assert page.is_checked("input[name=space][value=hytnas]")
        page.check("input[name=space][value=hytnas-mobilevit]")
        page.check("input[name=evaluator][value=remote]")  # another PyTorch evaluator: the space stays
        assert page.is_checked("input[name=space][value=hytnas-mobilevit]")
        page.check("input[name=evaluator-remote-measure_references]")
        page.fill("input[name=name]", "MobileViT on the Pi")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" not in page.url, page.inner_text(".error-summary")
    assert problems.all() == []
    study = Study.objects.get(owner=alice)
    assert study.space == {"name": "hytnas-mobilevit", "params": {}}
    assert study.evaluator["params"]["space"] == "hytnas-mobilevit"
    assert study.evaluator["params"]["measure_references"] is True
