"""The empty study list and the README's first-study walk-through point at each other and agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.urls import reverse

from search_engine.evaluators.table import HYTNAS_FILES, HYTNAS_MODELS, HYTNAS_REFERENCE_POINT

CHECKOUT = Path(__file__).resolve().parents[2]
README = CHECKOUT / "README.md"
TABLE_FIT_PANEL = CHECKOUT / "templates" / "studies" / "table_fit.html"


def walk_through() -> str:
    """The README's *Your first study* section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Your first study\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_empty_study_list_names_the_walk_through_the_readme_has(alice_client: Any) -> None:
    page = alice_client.get(reverse("studies-list")).content.decode()
    empty = re.search(r'<p class="empty">(.*?)</p>', page, re.S)
    assert empty is not None and "No studies yet" in empty.group(1)
    named = re.search(r"<em>(.*?)</em> in the README", empty.group(1))
    assert named is not None, empty.group(1)
    assert f"\n## {named.group(1)}\n" in README.read_text(encoding="utf-8")
    assert "ZDT1" in empty.group(1) and "ZDT1" in walk_through()  # the form's default, both say


def test_the_walk_through_names_the_files_objectives_and_reference_point_the_engine_uses() -> None:
    text = walk_through()
    for objective, file_name in HYTNAS_FILES.items():
        assert f"`{file_name}`" in text and f"`{objective}`" in text
    accuracy, latency = (f"{v:g}" for v in HYTNAS_REFERENCE_POINT)
    assert f"`{accuracy}, {latency}`" in text


def test_the_walk_through_names_the_regressor_the_form_fills_in_for_each_objective() -> None:
    text = walk_through()
    for objective, model in HYTNAS_MODELS.items():
        # In the objective's own step of the form: "`latency`, minimise, ..., regressor `xgboost`".
        assert re.search(rf"`{objective}`[^.;]*?regressor `{re.escape(model)}`", text), (objective, model)


def test_the_walk_through_names_the_fit_panel_as_the_study_page_titles_it() -> None:
    heading = re.search(r"<h2>(.*?)</h2>", TABLE_FIT_PANEL.read_text(encoding="utf-8"))
    assert heading is not None
    assert f"*{heading.group(1)}*" in walk_through()
