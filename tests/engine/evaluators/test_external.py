"""The external evaluator: declared objectives and metrics; its work is measured by the user's code."""

from __future__ import annotations

import pytest

from search_engine.errors import ConfigError
from search_engine.evaluators.external import ExternalEvaluator, MeasuredOutside
from search_engine.evaluators.remote import RemoteEvaluator
from search_engine.objectives import Objective
from search_engine.registry import EVALUATORS

DECLARED = [{"name": "top1", "direction": "max", "unit": "%"}, {"name": "energy", "unit": "mJ"}]


def test_the_declared_objectives_and_metrics_are_what_it_reports() -> None:
    evaluator = EVALUATORS.build("external", {"objectives": DECLARED, "metrics": ["params"]})
    assert isinstance(evaluator, ExternalEvaluator)
    assert evaluator.objectives == (Objective("top1", "max", "%"), Objective("energy", "min", "mJ"))
    assert evaluator.metric_names() == ("params",)
    assert evaluator.capabilities()["dispatch"] == "remote"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"objectives": DECLARED[:1]}, "evaluator.params.objectives", "2 or more"),
        ({"objectives": [DECLARED[0], DECLARED[0]]}, "evaluator.params.objectives", "used twice"),
        ({"objectives": [DECLARED[0], {"name": ""}]}, "evaluator.params.objectives[1].name", "non-empty"),
        ({"metrics": ["params", "params"]}, "evaluator.params.metrics", "used twice"),
        ({"metrics": ["params", 3]}, "evaluator.params.metrics[1]", "metric name"),
    ],
)
def test_bad_declarations_are_refused_naming_the_value(
    params: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        EVALUATORS.build("external", params)
    assert refused.value.field == field and words in str(refused.value)


def test_measuring_in_the_studio_fails_with_how_to_connect_the_users_code() -> None:
    (result,) = ExternalEvaluator().evaluate([{"width": 8}])
    assert not result.ok and "search_engine.client" in (result.error or "")


def test_every_evaluator_measured_by_workers_declares_what_the_worker_needs() -> None:
    remote = EVALUATORS.load("remote")
    assert issubclass(remote, MeasuredOutside) and issubclass(ExternalEvaluator, MeasuredOutside)
    assert remote is RemoteEvaluator
    assert ExternalEvaluator().worker_spec() == {"name": "external", "params": {"time_limit_seconds": None}}
    limited = EVALUATORS.build("external", {"time_limit_seconds": 90})
    assert isinstance(limited, MeasuredOutside)
    assert limited.worker_spec()["params"] == {"time_limit_seconds": 90.0}


def test_a_time_limit_below_a_second_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError) as refused:
        EVALUATORS.build("external", {"time_limit_seconds": 0.5})
    assert refused.value.field == "evaluator.params.time_limit_seconds"
