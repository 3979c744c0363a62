"""Helpers for study-form tests: the form's own initial values as POST data, and small CSV tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse


def hytnas_preset_url() -> str:
    """The creation page pre-filled from the built-in HyT-NAS original preset."""
    from hytnas_web.studies import services
    from hytnas_web.studies.models import Preset

    services.sync_builtin_presets()
    return f"{reverse('studies-create')}?preset={Preset.objects.get(owner=None, key='hytnas').pk}"


def form_post_data(client: Any, url: str | None = None, **changes: Any) -> dict[str, Any]:
    """What the browser would post for the study form as ``client`` gets it, with ``changes`` applied.

    ``url`` defaults to the creation page loaded with the built-in HyT-NAS original preset (on ZDT1),
    whose explicit components the form tests exercise; the plain page starts from the auto preset
    instead (``test_auto_optimizer``). Changes are keyed by input name as posted (``budget``,
    ``surrogate-xgboost-max_depth``, ``objectives-0-name``, ``tables-0-file``); a change whose value
    is None removes the input from the post.
    """
    response = client.get(url or hytnas_preset_url())
    assert response.status_code == 200
    form = response.context["form"]
    data: dict[str, Any] = {}
    for field in form.bound_fields():
        value = field.value()
        if value is None or value is False or field.widget_type == "clearablefile":
            continue
        data[field.html_name] = "on" if value is True else str(value)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def small_zdt1(**changes: Any) -> dict[str, Any]:
    """Changes that make the default form a small, fast ZDT1 study."""
    values: dict[str, Any] = {
        "name": "ZDT1 from the form",
        "evaluator": "benchmark",
        "space": "benchmark",
        "evaluator-benchmark-problem": "zdt1",
        "evaluator-benchmark-n_var": "4",
        "evaluator-benchmark-n_obj": "2",
        "n_init": "10",
        "batch_size": "5",
        "budget": "20",
        "solver": "nsga2",
        "solver-nsga2-pop_size": "20",
        "solver-nsga2-n_gen": "5",
    }
    values.update(changes)
    return values


CUSTOM_SPACE = (
    '[{"name": "width", "type": "int", "low": 8, "high": 64},'
    ' {"name": "depth", "type": "int", "low": 1, "high": 8},'
    ' {"name": "act", "type": "choice", "choices": ["relu", "gelu"]}]'
)


def measured_csv(objective: str, rows: int = 12, bad_line: int | None = None) -> bytes:
    """A CSV whose header names CUSTOM_SPACE's variables and ``objective``; ``bad_line`` has a bad cell."""
    lines = [f"width,depth,act,{objective}"]
    for i in range(rows):
        value = f"{70 + i * 0.5:.2f}" if objective == "accuracy" else f"{100 + 7 * i:.1f}"
        lines.append(f"{8 + 4 * i},{1 + i % 8},{'relu' if i % 2 else 'gelu'},{value}")
    if bad_line is not None:
        cells = lines[bad_line - 1].split(",")
        cells[-1] = "lots"
        lines[bad_line - 1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


TABLE_OBJECTIVES = {
    "evaluator": "table",
    "space": "custom",
    "space-custom-spec": CUSTOM_SPACE,
    "objectives-0-name": "accuracy",
    "objectives-0-direction": "max",
    "objectives-1-name": "latency",
    "tables-0-objectives": "accuracy",
    "tables-1-objectives": "latency",
}
"""A table study's fields on CUSTOM_SPACE: accuracy (max) from table slot 0, latency from slot 1."""


def table_study(client: Any, **changes: Any) -> dict[str, Any]:
    """A small table study on CUSTOM_SPACE measuring accuracy and latency (uploads still to be added)."""
    return form_post_data(client, **small_zdt1(**{**TABLE_OBJECTIVES, **changes}))


HYTNAS_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hytnas"
"""The measured HyT-NAS tables (see their README there); tests that need them skip without."""


def hytnas_tables() -> dict[str, Path]:
    """The HyT-NAS table file of each objective, as the command line's setup reads them; else skip."""
    from search_engine.evaluators.table import HYTNAS_FILES

    files = {objective: HYTNAS_DATA / name for objective, name in HYTNAS_FILES.items()}
    if not all(path.is_file() for path in files.values()):
        pytest.skip(f"HyT-NAS tables not found at {HYTNAS_DATA}")
    return files


def hytnas_table_study(**changes: Any) -> dict[str, Any]:
    """Changes that make the default form the HyT-NAS table study as the page pre-fills it for the
    table evaluator: accuracy (linear booster) and latency (trees), the original reference point.

    The uploads themselves (``tables-0-file``, ``tables-1-file``) are the caller's to add.
    """
    values: dict[str, Any] = {
        "name": "HyT-NAS tables",
        "evaluator": "table",
        "space": "hytnas",
        "objectives-0-name": "accuracy",
        "objectives-0-direction": "max",
        "objectives-0-unit": "%",
        "objectives-0-model": "xgboost-linear",
        "objectives-1-name": "latency",
        "objectives-1-direction": "min",
        "objectives-1-unit": "ms",
        "objectives-1-model": "xgboost",
        "objectives-2-name": "",
        "ref_point": "75, 3500",
        "tables-0-objectives": "accuracy",
        "tables-1-objectives": "latency",
        "budget": "300",
    }
    values.update(changes)
    return values


def as_run(config: dict[str, Any]) -> dict[str, Any]:
    """A stored configuration as the engine runs it: every component's and the evaluator's parameters
    resolved (defaults written out), each table by its text and objectives rather than where it came from."""
    from search_engine.config import COMPONENT_FIELDS
    from search_engine.registry import EVALUATORS

    effective = dict(config)
    for kind, registry in COMPONENT_FIELDS.items():
        effective[kind] = (
            config[kind]["name"],
            registry.resolve(config[kind]["name"], config[kind]["params"], kind),
        )
    evaluator = config["evaluator"]
    params = EVALUATORS.resolve(evaluator["name"], evaluator["params"], "evaluator")
    params["tables"] = [
        (table.get("text") or Path(table["path"]).read_text(encoding="utf-8-sig"), table["objectives"])
        for table in params["tables"]
    ]
    effective["evaluator"] = (evaluator["name"], params)
    return effective
