"""The study form in a real headless chromium: a HyT-NAS table study whose uploads survive a bad budget.

Selectors this test relies on (templates/studies/create.html, table_uploads.html; static/js/study_form.js):
``input[name=evaluator]`` radios, ``select[name=objectives-N-model]`` (shown for the table evaluator),
``input[name=tables-N-file]`` / ``input[name=tables-N-objectives]``, ``p.kept`` inside
``[data-kept-table=N]``, and ``#id_budget_errors`` (form_field.html's error list).
"""

from __future__ import annotations

from typing import Any

import pytest

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from search_engine.setups import HYTNAS_TABLE, study_config
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD
from tests.web.study_form_data import as_run, hytnas_tables

REGRESSORS = """() => [0, 1].map((i) => {
    const select = document.querySelector(`select[name=objectives-${i}-model]`);
    const name = document.querySelector(`input[name=objectives-${i}-name]`).value;
    return [name, select.value, !select.closest("td").hidden];
})"""

KEPT = """() => [...document.querySelectorAll("[data-kept-table] p.kept")]
    .map((p) => p.innerText.split(" — ")[0])"""


@pytest.mark.django_db(transaction=True)
def test_a_hytnas_table_study_keeps_its_uploads_past_a_bad_budget(live_server: Any, alice: Any) -> None:
    files = hytnas_tables()
    chromium_path()
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/new/")
        # As the README's walk-through: the original HyT-NAS search, loaded before anything is typed.
        with page.expect_navigation():
            page.select_option("#preset-pick", label="HyT-NAS original")
            page.click("section.preset-picker button[type=submit]")
        assert not page.is_checked("input[name=auto]")
        page.check("input[name=evaluator][value=table]")
        assert page.is_checked("input[name=space][value=hytnas]")
        # The HyT-NAS objectives come with the regressors the command line's setup fits for them.
        assert page.evaluate(REGRESSORS) == [
            ["accuracy", "xgboost-linear", True],
            ["latency", "xgboost", True],
        ]
        page.set_input_files("input[name=tables-0-file]", str(files["accuracy"]))
        page.fill("input[name=tables-0-objectives]", "accuracy")
        page.set_input_files("input[name=tables-1-file]", str(files["latency"]))
        page.fill("input[name=tables-1-objectives]", "latency")
        assert page.input_value("input[name=ref_point]") == "75, 3500"  # the HyT-NAS setup's
        page.fill("input[name=name]", "HyT-NAS tables")
        page.fill("input[name=budget]", "50")  # smaller than the initial design of 100
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" in page.url
        assert "smaller than the initial design" in page.inner_text("#id_budget_errors")
        assert page.evaluate(KEPT) == [
            "Kept: models_acc_pr.csv, 304 rows",
            "Kept: models_lat_pre.csv, 1769 rows",
        ]
        assert page.evaluate(REGRESSORS) == [
            ["accuracy", "xgboost-linear", True],
            ["latency", "xgboost", True],
        ]
        screenshot(page, "study-form-kept-tables")

        page.fill("input[name=budget]", "300")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/studies/new/" not in page.url, page.inner_text("#study-form")
    assert problems.all() == []
    study = Study.objects.get(owner=alice)
    command_line = study_config(HYTNAS_TABLE, "hytnas", data_dir=files["accuracy"].parent, budget=300)
    assert as_run(services.study_config(study).to_dict()) == as_run(command_line.to_dict())
