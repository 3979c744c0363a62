"""The ``auto`` optimizer: deterministic, explained choices that only ever run registered components."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine import auto
from search_engine.config import COMPONENT_FIELDS
from search_engine.optimizer import Optimizer, propose
from search_engine.presets import PRESETS
from search_engine.runner import objective_rows
from search_engine.setups import study_config


def _config(problem: str = "zdt1", n_obj: int = 2, **changes: object):  # type: ignore[no-untyped-def]
    config = study_config(problem, "auto", budget=200, seed=3, n_init=20, batch_size=10, n_var=6, n_obj=n_obj)
    return config.with_changes(**changes).validate()


def _evaluate(config, evaluator, X):  # type: ignore[no-untyped-def]
    space = config.build_space()
    return objective_rows(evaluator.evaluate(space.decode(space.canonicalize(X))), config.n_objectives)


def _measured(config, n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    X = np.random.default_rng(seed).random((n, config.build_space().n_vars))
    return X, _evaluate(config, config.build_evaluator(), X)


@pytest.mark.parametrize("n_measured", [0, 20, 500, auto.GP_MAX_POINTS, auto.GP_MAX_POINTS + 1, 10_000])
@pytest.mark.parametrize("n_obj", [2, 3, 4])
@pytest.mark.parametrize("batch", [1, 2, 10, 50])
def test_a_choice_fills_the_batch_with_registered_components_and_says_why(
    n_measured: int, n_obj: int, batch: int
) -> None:
    config = _config("dtlz2", n_obj=n_obj)
    choice = auto.choose(config, config.build_space(), n_measured, batch)
    assert sum(part.size for part in choice.parts) == batch
    assert all(part.size >= 1 for part in choice.parts)
    assert choice.reasons and all(reason.strip() for reason in choice.reasons)
    for part in choice.parts:
        for kind, spec in part.components.items():
            COMPONENT_FIELDS[kind].resolve(spec.name, spec.params, kind)  # raises on a bad choice
        config.with_changes(auto=False, **part.components).validate()
    assert auto.choose(config, config.build_space(), n_measured, batch) == choice  # deterministic


def test_past_the_gaussian_process_limit_boosted_trees_propose_everything_and_the_reason_says_so() -> None:
    config = _config()
    few = auto.choose(config, config.build_space(), auto.GP_MAX_POINTS, 10)
    many = auto.choose(config, config.build_space(), auto.GP_MAX_POINTS + 1, 10)
    assert [p.components["surrogate"].name for p in few.parts] == ["gp", "xgboost"]
    assert [p.components["surrogate"].name for p in many.parts] == ["xgboost"]
    assert any(str(auto.GP_MAX_POINTS) in reason for reason in many.reasons)


def test_the_auto_preset_is_first_and_the_original_hytnas_search_stays_named_as_such() -> None:
    assert next(iter(PRESETS)) == "auto"
    assert PRESETS["auto"].auto is True
    assert PRESETS["hytnas"].label == "HyT-NAS original" and PRESETS["hytnas"].auto is False
    config = _config()
    assert config.auto is True
    assert type(config).from_dict(config.to_dict()) == config


def test_an_auto_proposal_repeats_no_measured_or_in_flight_architecture_and_records_its_choice() -> None:
    config = _config()
    X, Y = _measured(config, 30)
    space = config.build_space()
    in_flight = np.random.default_rng(7).random((5, space.n_vars))
    proposal = propose(config, X, Y, seed=11, pending=in_flight)
    assert len(proposal) == 10
    taken = set(space.keys(space.canonicalize(X))) | set(space.keys(space.canonicalize(in_flight)))
    assert len(set(proposal.keys)) == 10 and not taken & set(proposal.keys)
    recorded = proposal.diagnostics["auto"]
    assert [p["size"] for p in recorded["parts"]] == recorded["proposed"] == [7, 3]
    assert recorded["reasons"] == list(auto.choose(config, space, 30, 10).reasons)
    again = propose(config, X, Y, seed=11, pending=in_flight)
    assert again.keys == proposal.keys  # same data, same seed: same batch


def test_a_study_run_by_auto_never_proposes_an_architecture_twice() -> None:
    config = _config(budget=80)
    evaluator = config.build_evaluator()
    optimizer = Optimizer(config)
    while optimizer.n_evaluated < config.budget:
        proposal = optimizer.ask()
        optimizer.tell(proposal.X, _evaluate(config, evaluator, proposal.X))
    keys = optimizer.space.keys(optimizer.X)
    assert len(keys) == len(set(keys)) == config.budget


def test_a_non_boolean_auto_flag_is_refused_naming_the_field() -> None:
    from search_engine.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        _config().with_changes(auto="yes").validate()
    assert error.value.field == "auto"
