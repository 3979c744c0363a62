"""Device budgets: declared once, carried by the stored configuration, refused with the field named."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.constraints import Constraint, feasible_rows, feasible_share, study_quantities
from search_engine.errors import ConfigError
from search_engine.objectives import Objective
from search_engine.types import EvaluationResult


def hytnas_config(*constraints: Constraint | str, **changes: Any) -> StudyConfig:
    """A HyT-NAS study measured by the torch evaluator at 224 px (nothing is measured by validating)."""
    base = StudyConfig(
        space=ComponentSpec("hytnas"),
        evaluator=ComponentSpec("torch", {"accuracy": "none"}),
        objectives=(Objective("latency", "min", "ms"),),
        n_init=10,
        batch_size=5,
        budget=40,
        constraints=tuple(c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints),
    )
    return base.with_changes(**changes)


def zdt1_config(*constraints: str) -> StudyConfig:
    return StudyConfig(
        space=ComponentSpec(
            "generic",
            {"variables": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(2)]},
        ),
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 2}),
        objectives=(Objective("f1"), Objective("f2")),
        ref_point=(1.1, 11.0),
        n_init=5,
        batch_size=2,
        budget=10,
        constraints=tuple(Constraint.parse(c) for c in constraints),
    )


def test_constraints_survive_a_json_round_trip_and_old_configs_load_without_them() -> None:
    config = hytnas_config("params<=2e6", "macs.backbone <= 3e8", "latency>=1")
    stored = json.loads(json.dumps(config.to_dict()))
    assert stored["constraints"][0] == {"quantity": "params", "bound": "upper", "value": 2e6}
    again = StudyConfig.from_dict(stored)
    assert again == config
    again.validate()
    del stored["constraints"]
    assert StudyConfig.from_dict(stored).constraints == ()


def test_a_constraint_reads_from_its_written_form() -> None:
    assert Constraint.parse("params<=2e6") == Constraint("params", "upper", 2e6)
    assert Constraint.parse(" accuracy >= 70 ") == Constraint("accuracy", "lower", 70.0)
    assert str(Constraint("latency.backbone", "upper", 30)) == "latency.backbone <= 30"
    with pytest.raises(ConfigError, match="QUANTITY<=VALUE"):
        Constraint.parse("params < 2")
    with pytest.raises(ConfigError) as error:
        Constraint.parse("params<=lots", "constraints[0]")
    assert error.value.field == "constraints[0].value"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "params", "bound": "below", "value": 1}, "constraints[0].bound"),
        ({"quantity": "", "bound": "upper", "value": 1}, "constraints[0].quantity"),
        ({"quantity": "params", "bound": "upper", "value": "1e6"}, "constraints[0].value"),
        (42, "constraints[0]"),
    ],
)
def test_malformed_stored_constraints_name_their_field(data: Any, field: str) -> None:
    stored = hytnas_config().to_dict()
    stored["constraints"] = [data]
    with pytest.raises(ConfigError) as error:
        StudyConfig.from_dict(stored)
    assert error.value.field == field


def test_a_bound_on_an_unknown_quantity_names_the_field_and_lists_what_is_available() -> None:
    with pytest.raises(ConfigError) as error:
        hytnas_config("params<=2e6", "energy<=5").validate()
    assert error.value.field == "constraints[1].quantity"
    assert "energy" in error.value.message
    for offered in ("params.backbone", "macs", "activation_memory", "latency.neck", "latency"):
        assert offered in error.value.message


def test_a_generic_space_offers_its_objectives_but_no_known_quantity() -> None:
    zdt1_config("f1<=0.5").validate()
    with pytest.raises(ConfigError) as error:
        zdt1_config("params<=10").validate()
    assert error.value.field == "constraints[0].quantity"
    assert "f1, f2" in error.value.message


def test_each_quantity_says_whether_it_is_known_before_measuring() -> None:
    available = study_quantities(hytnas_config()).quantities
    assert available["params"].known_before and available["params"].unit == "parameters"
    assert available["macs.head"].known_before
    assert not available["latency"].known_before and available["latency"].unit == "ms"
    assert not available["latency.backbone"].known_before


def test_metrics_an_external_evaluation_declares_can_be_bounded() -> None:
    evaluator = ComponentSpec(
        "external",
        {
            "objectives": [{"name": "error", "direction": "min"}, {"name": "energy", "direction": "min"}],
            "metrics": ["flash_kb"],
        },
    )
    objectives = (Objective("error"), Objective("energy"))
    config = hytnas_config("flash_kb<=256", evaluator=evaluator, objectives=objectives)
    config.validate()
    with pytest.raises(ConfigError) as error:
        config.with_changes(constraints=(Constraint("ram_kb", "upper", 1.0),)).validate()
    assert error.value.field == "constraints[0].quantity"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_bound_that_is_not_a_finite_number_is_refused(value: float) -> None:
    with pytest.raises(ConfigError) as error:
        hytnas_config(Constraint("params", "upper", value)).validate()
    assert error.value.field == "constraints[0].value"


def test_contradicting_bounds_on_one_quantity_are_refused() -> None:
    with pytest.raises(ConfigError) as error:
        hytnas_config("latency<=10", "params<=3e6", "latency>=20").validate()
    assert error.value.field == "constraints[2].value"
    assert "contradicts latency <= 10" in error.value.message


def test_a_known_bound_no_architecture_meets_is_refused_with_the_best_value_seen() -> None:
    with pytest.raises(ConfigError) as error:
        hytnas_config("params<=10000").validate()
    assert error.value.field == "constraints[0].value"
    assert "best params seen is" in error.value.message
    assert "parameters" in error.value.message and "sampled" in error.value.message


def test_known_bounds_each_reachable_but_never_together_are_refused() -> None:
    """Few parameters and many multiply-adds pull apart: small networks do little work."""
    share = feasible_share(hytnas_config("params<=150000"))
    assert 0 < share.share < 1
    with pytest.raises(ConfigError) as error:
        hytnas_config("params<=150000", "macs>=2e9").validate()
    assert error.value.field in ("constraints", "constraints[1].value")


def test_the_feasible_share_is_estimated_by_sampling_and_shrinks_with_a_tighter_bound() -> None:
    loose = feasible_share(hytnas_config("params<=3e6"))
    tight = feasible_share(hytnas_config("params<=5e5"))
    assert 0 < tight.share < loose.share <= 1
    assert tight.n_sampled == 2000
    assert feasible_share(hytnas_config()).share == 1.0


def test_feasible_rows_read_known_quantities_objectives_and_stage_latency() -> None:
    config = hytnas_config("latency<=20", "latency.backbone<=12", "params<=1e6")
    space = config.build_space()
    X = space.sample_uniform(200, np.random.default_rng(1))
    params = space.known_quantities(X, {"accuracy": "none"})["params"]
    small = int(np.flatnonzero(params <= 1e6)[0])
    large = int(np.flatnonzero(params > 1e6)[0])
    rows = X[[small, small, small, large]]
    Y = np.array([[15.0], [15.0], [25.0], [15.0]])
    results = [
        EvaluationResult((15.0,), {"backbone": 10.0}),
        EvaluationResult((15.0,), {"backbone": 13.0}),  # backbone over its budget
        EvaluationResult((25.0,), {"backbone": 10.0}),  # end to end over its budget
        EvaluationResult((15.0,), {"backbone": 10.0}),  # too many parameters
    ]
    ok = feasible_rows(config, rows, Y, results)
    assert ok is not None
    assert ok.tolist() == [True, False, False, False]
    assert feasible_rows(hytnas_config(), rows, Y, results) is None
