"""Study configuration: JSON round trip and validation errors that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from search_engine.objectives import Objective
from search_engine.presets import PRESETS, get_preset
from search_engine.surrogates.base import Surrogate
from search_engine.surrogates.mix import MixSurrogate


def zdt1_config(**changes: Any) -> StudyConfig:
    base = StudyConfig(
        space=ComponentSpec(
            "generic",
            {"variables": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(4)]},
        ),
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 4}),
        objectives=(Objective("f1"), Objective("f2")),
        ref_point=(1.1, 1.1),
        n_init=10,
        batch_size=4,
        budget=30,
    )
    return base.with_changes(**changes)


def test_config_survives_a_json_round_trip() -> None:
    config = zdt1_config(surrogate=ComponentSpec("gp", {"n_restarts": 1}), acquisition=ComponentSpec("ucb"))
    again = StudyConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    again.validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"surrogate": ComponentSpec("forest")}, "surrogate.name"),
        ({"solver": ComponentSpec("nsga2", {"pop_size": 0})}, "solver.params.pop_size"),
        ({"solver": ComponentSpec("nsga2", {"generations": 5})}, "solver.params.generations"),
        ({"ref_point": (1.1,)}, "ref_point"),
        ({"ref_point": (1.1, float("nan"))}, "ref_point[1]"),
        ({"budget": 5}, "budget"),
        ({"batch_size": 0}, "batch_size"),
        ({"objectives": ()}, "objectives"),
        ({"objectives": (Objective("f"), Objective("f"))}, "objectives"),
        ({"acquisition": ComponentSpec("ei")}, "acquisition.name"),  # XGBoost has no std
        ({"surrogate": ComponentSpec("xgb-ranker")}, "selection.name"),  # HVI needs values
        (
            {
                "surrogate": ComponentSpec("xgb-ranker"),
                "selection": ComponentSpec("nds"),
                "acquisition": ComponentSpec("pi"),
            },
            "acquisition.name",
        ),
        ({"selection": ComponentSpec("uncertainty")}, "selection.name"),  # XGBoost has no std
        ({"space": ComponentSpec("generic", {"variables": []})}, "space.params.variables"),
        ({"in_flight": 0}, "in_flight"),
        ({"in_flight": 31}, "in_flight"),  # more than the budget of 30
        ({"in_flight": 2.5}, "in_flight"),
        ({"pending": ComponentSpec("hopeful")}, "pending.name"),
        ({"pending": ComponentSpec("believer", {"value": "median"})}, "pending.params.value"),
        (  # a ranker's scores cannot stand in for the measurements of points in flight
            {
                "surrogate": ComponentSpec("xgb-ranker"),
                "selection": ComponentSpec("nds"),
                "in_flight": 4,
            },
            "pending.params.value",
        ),
    ],
)
def test_bad_configuration_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        zdt1_config(**changes).validate()
    assert excinfo.value.field == field


def test_asynchronous_settings_survive_a_json_round_trip() -> None:
    config = zdt1_config(in_flight=4, pending=ComponentSpec("believer", {"value": "max"}))
    again = StudyConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.in_flight == 4
    again.validate()


def test_a_configuration_stored_before_asynchronous_proposals_reads_as_synchronous_batches() -> None:
    stored = zdt1_config().to_dict()
    del stored["pending"], stored["in_flight"]
    config = StudyConfig.from_dict(stored).validate()
    assert config.in_flight is None and config.pending == ComponentSpec("believer")


def test_a_ranker_may_keep_points_in_flight_with_a_constant_liar_or_by_ignoring_them() -> None:
    ranker = {"surrogate": ComponentSpec("xgb-ranker"), "selection": ComponentSpec("nds"), "in_flight": 4}
    zdt1_config(**ranker, pending=ComponentSpec("believer", {"value": "min"})).validate()
    zdt1_config(**ranker, pending=ComponentSpec("ignore")).validate()


def test_budget_smaller_than_initial_design_is_explained() -> None:
    with pytest.raises(ConfigError, match="smaller than the initial design"):
        zdt1_config(budget=5, n_init=10).validate()


def test_from_dict_rejects_unknown_and_missing_fields() -> None:
    data = zdt1_config().to_dict()
    with pytest.raises(ConfigError) as excinfo:
        StudyConfig.from_dict({**data, "budgte": 3})
    assert excinfo.value.field == "budgte"
    del data["objectives"]
    with pytest.raises(ConfigError) as excinfo:
        StudyConfig.from_dict(data)
    assert excinfo.value.field == "objectives"


def test_every_preset_gives_a_valid_configuration() -> None:
    for key in PRESETS:
        get_preset(key).apply(zdt1_config(budget=200)).validate()


def test_the_hytnas_preset_is_the_original_configuration() -> None:
    config = get_preset("hytnas").apply(zdt1_config(budget=1000))
    assert (config.sampler.name, config.surrogate.name, config.acquisition.name) == (
        "uniform",
        "xgboost",
        "identity",
    )
    assert config.solver == ComponentSpec("nsga2", {"pop_size": 100, "n_gen": 25})
    assert (config.selection.name, config.n_init, config.batch_size) == ("hvi", 100, 50)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="hytnas"):
        get_preset("fastest")


def _refuse_construction(self: object) -> None:
    raise AssertionError(f"{type(self).__name__} was constructed")


def test_validation_reads_capabilities_without_building_the_surrogate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Surrogate, "__post_init__", _refuse_construction)
    monkeypatch.setattr(MixSurrogate, "__post_init__", _refuse_construction)
    zdt1_config().validate()  # xgboost + identity + hvi
    mix = ComponentSpec("mix", {"surrogates": [{"name": "gp"}, {"name": "gp"}]})
    zdt1_config(surrogate=mix, acquisition=ComponentSpec("ei")).validate()
    with pytest.raises(ConfigError) as excinfo:
        ranked = {"surrogates": [{"name": "gp"}, {"name": "xgb-ranker"}]}
        zdt1_config(surrogate=ComponentSpec("mix", ranked)).validate()  # hvi needs values
    assert excinfo.value.field == "selection.name"
    with pytest.raises(ConfigError) as excinfo:
        bad_member = {"surrogates": [{"name": "gp"}, {"name": "xgboost", "params": {"max_depth": 99}}]}
        zdt1_config(surrogate=ComponentSpec("mix", bad_member)).validate()
    assert excinfo.value.field == "surrogate.params.surrogates[1].params.max_depth"


def test_a_validated_configuration_is_not_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    config = zdt1_config().validate()

    def refuse(*args: object) -> None:
        raise AssertionError("checked again")

    monkeypatch.setattr(StudyConfig, "_validate_objectives", refuse)
    assert config.validate() is config
    with pytest.raises(AssertionError, match="checked again"):
        config.with_changes(batch_size=5).validate()  # a changed copy is a new configuration
    assert config == zdt1_config()  # remembering success changes neither equality nor the stored form
    assert "_validated" not in config.to_dict()


def test_a_configuration_read_back_from_storage_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = zdt1_config().validate().to_dict()

    def refuse(*args: object) -> None:
        raise AssertionError("checked again")

    monkeypatch.setattr(StudyConfig, "_validate_objectives", refuse)
    config = StudyConfig.from_validated_dict(stored)
    assert config.validate() is config  # what propose() calls on every iteration
    assert config == StudyConfig.from_dict(stored)
    with pytest.raises(AssertionError, match="checked again"):
        StudyConfig.from_dict(stored).validate()  # a config of unknown origin is checked
