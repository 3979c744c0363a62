"""The client for the user's own evaluation needs only the standard library and numpy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from search_engine.client import ResultError, WorkItem, _objective_values

HEAVY = ("django", "pydantic", "pymoo", "sklearn", "scipy", "xgboost", "torch", "onnxruntime")


def test_importing_the_client_loads_nothing_beyond_numpy() -> None:
    code = f"import sys, search_engine.client; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_claimed_entry_becomes_an_item_with_its_cube_point() -> None:
    entry = {
        "id": 7,
        "study": {"id": 3, "name": "mine"},
        "key": "k",
        "architecture": {"width": 32},
        "x": [0.25],
        "objectives": [{"name": "accuracy", "direction": "max", "unit": "%"}],
        "metrics": ["params"],
    }
    item = WorkItem.from_claim(entry, "lease-1")
    assert isinstance(item, WorkItem)
    assert item.x.dtype == np.float64 and item.x.tolist() == [0.25]
    assert (item.study, item.study_name, item.metrics, item.lease) == (3, "mine", ("params",), "lease-1")
    assert item.objectives[0].name == "accuracy" and item.objectives[0].direction == "max"


def test_numpy_numbers_are_sent_as_plain_numbers_and_other_values_as_they_are() -> None:
    values = _objective_values({"accuracy": np.float32(71.5), "latency": np.int64(3), "note": "fast"})
    assert values == {"accuracy": 71.5, "latency": 3, "note": "fast"}
    assert type(values["accuracy"]) is float and type(values["latency"]) is int
    assert _objective_values([np.float64(1.0), 2]) == [1.0, 2]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float64("-inf")])
def test_a_value_with_no_json_form_is_refused_before_sending(value: float) -> None:
    with pytest.raises(ResultError) as refused:
        _objective_values({"accuracy": 70.0, "latency": value})
    assert refused.value.field == "objectives.latency"
    assert "finite" in str(refused.value)
