"""The study form and the worker-token page in a real headless chromium (their small scripts at work).

Selectors this test relies on (templates/studies/create.html, component_fields.html, tokens.html,
token_secret.html, tokens_table.html; static/js/study_form.js and tokens.js):

- ``input[name=evaluator]`` and ``input[name=space]`` radios, ``[data-objective-row]`` rows of
  (name, direction, unit) inputs, ``select[name=evaluator-torch-accuracy]``;
- ``p.runs[data-component-key=<evaluator>]``: where that evaluator's work runs, shown when chosen;
- ``#token-secret-value`` and ``#token-command`` with their ``button[data-copy]``;
- ``form[data-confirm]``: a revoke form that asks before it posts.
"""

from __future__ import annotations

from typing import Any

import pytest

from hytnas_web.studies.models import Study, WorkerToken
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD

OBJECTIVE_ROWS = """() => [...document.querySelectorAll("[data-objective-row]")].map((row) =>
    [...row.querySelectorAll("input, select:not([name$=-model])")].map((input) => input.value)
).filter((row) => row[0] !== "")"""

VISIBLE_RUNS = """() => [...document.querySelectorAll("p.runs")].filter((p) => !p.hidden)
    .map((p) => p.dataset.componentKey)"""


@pytest.mark.django_db(transaction=True)
def test_choosing_a_pytorch_evaluator_fills_its_objectives_and_space(live_server: Any, alice: Any) -> None:
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/new/")
        assert page.evaluate(OBJECTIVE_ROWS) == [["f1", "min", ""], ["f2", "min", ""]]
        assert page.evaluate(VISIBLE_RUNS) == ["benchmark"]

        page.check("input[name=evaluator][value=torch]")
        assert page.is_checked("input[name=space][value=hytnas]")
        assert page.evaluate(OBJECTIVE_ROWS) == [["accuracy_proxy", "max", "score"], ["latency", "min", "ms"]]
        assert page.evaluate(VISIBLE_RUNS) == ["torch"]
        assert "evaluations queue" in page.inner_text("p.runs[data-component-key=torch]")
        assert not page.is_visible("input[name=tables-0-file]")

        page.select_option("select[name=evaluator-torch-accuracy]", "none")
        assert page.evaluate(OBJECTIVE_ROWS) == [["latency", "min", "ms"]]

        page.check("input[name=evaluator][value=remote]")
        assert page.evaluate(VISIBLE_RUNS) == ["remote"]
        assert page.evaluate(OBJECTIVE_ROWS) == [["accuracy_proxy", "max", "score"], ["latency", "min", "ms"]]
        page.fill("input[name=name]", "Pi 5 search")
        screenshot(page, "study-form-remote")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" not in page.url, page.inner_text(".error-summary")
        # The form's default lets auto choose; the study page says what it will run and why.
        assert page.is_visible("#auto-choice")
        chosen = page.inner_text("#auto-choice")
        assert "the next proposal will run" in chosen and "Gaussian process" in chosen
        assert "measurements may vary from run to run" in chosen  # a board's: the GP fits the noise
    assert problems.all() == []
    study = Study.objects.get(owner=alice)
    assert study.evaluator["name"] == "remote" and study.space["name"] == "hytnas"
    assert study.config["auto"] is True
    assert [o["name"] for o in study.objectives] == ["accuracy_proxy", "latency"]


@pytest.mark.django_db(transaction=True)
def test_a_token_is_copied_once_and_revoked_after_a_confirmation(live_server: Any, alice: Any) -> None:
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:
        context = browser.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        page = context.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/workers/tokens/")
        page.fill("input[name=name]", "Pi 5, lab bench")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        secret = page.input_value("#token-secret-value")
        command = page.input_value("#token-command")
        assert secret.startswith("hyt_")
        assert command == f"python -m search_engine.worker --server {live_server.url}/ --token {secret}"
        page.click("button[data-copy=token-command]")
        page.wait_for_function(
            "() => document.querySelector('[data-copy=token-command]').textContent === 'Copied'"
        )
        assert page.evaluate("() => navigator.clipboard.readText()") == command
        screenshot(page, "worker-token-made")

        page.goto(f"{live_server.url}/workers/tokens/")
        assert secret not in page.content()
        dialogs: list[str] = []
        page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.click("form[data-confirm] button")
        page.wait_for_timeout(300)
        assert page.is_visible("form[data-confirm] button")  # dismissed: nothing was posted
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click("form[data-confirm] button")
        assert "revoked" in page.inner_text(".messages")
    assert dialogs and "Revoke “Pi 5, lab bench”?" in dialogs[0]
    assert problems.all() == []
    assert not WorkerToken.objects.get(owner=alice).is_active


@pytest.mark.django_db(transaction=True)
def test_choosing_the_external_evaluator_keeps_a_custom_space_and_the_typed_objectives(
    live_server: Any, alice: Any
) -> None:
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/new/")
        page.check("input[name=evaluator][value=external]")
        assert page.evaluate(VISIBLE_RUNS) == ["external"]
        assert "search_engine.client" in page.inner_text("p.runs[data-component-key=external]")
        assert page.evaluate(OBJECTIVE_ROWS) == [["accuracy", "max", "%"], ["latency", "min", "ms"]]
        page.check("input[name=space][value=custom]")
        page.fill(
            "textarea[name=space-custom-spec]", '[{"name": "width", "type": "int", "low": 8, "high": 64}]'
        )
        page.fill("input[name=objectives-2-name]", "energy")
        page.fill("input[name=objectives-2-unit]", "mJ")
        page.fill("textarea[name=evaluator-external-metrics]", '["params"]')
        page.fill("input[name=name]", "My training pipeline")
        assert page.is_checked("input[name=space][value=custom]")
        screenshot(page, "study-form-external")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" not in page.url, page.inner_text(".error-summary")
    assert problems.all() == []
    study = Study.objects.get(owner=alice)
    assert study.evaluator["name"] == "external" and study.space["name"] == "generic"
    assert [o["name"] for o in study.objectives] == ["accuracy", "latency", "energy"]
    assert study.evaluator["params"]["metrics"] == ["params"]
