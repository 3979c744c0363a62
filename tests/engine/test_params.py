"""Parameter schemas: validation messages name the field; defaults fill the rest."""

from __future__ import annotations

import math

import pytest

from search_engine.errors import ConfigError
from search_engine.params import Param, resolve_params

SCHEMA = (
    Param("depth", "int", 6, "Tree depth.", low=1, high=20),
    Param("rate", "float", 0.1, "Learning rate.", low=0.0, high=1.0),
    Param("booster", "choice", "gbtree", "Booster.", choices=("gbtree", "dart")),
    Param("verbose", "bool", False, "Print progress."),
    Param("limit", "float", None, "Optional cap.", optional=True, low=0.0),
)


def test_defaults_fill_missing_parameters() -> None:
    assert resolve_params(SCHEMA, {"depth": 3}, "surrogate.params") == {
        "depth": 3,
        "rate": 0.1,
        "booster": "gbtree",
        "verbose": False,
        "limit": None,
    }


def test_integral_floats_are_accepted_as_ints() -> None:
    assert resolve_params(SCHEMA, {"depth": 4.0}, "s")["depth"] == 4


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"depth": 0}, "surrogate.params.depth", "below the minimum 1"),
        ({"depth": 21}, "surrogate.params.depth", "above the maximum 20"),
        ({"depth": 2.5}, "surrogate.params.depth", "whole number"),
        ({"depth": "6"}, "surrogate.params.depth", "expected a number"),
        ({"depth": True}, "surrogate.params.depth", "expected a number"),
        ({"rate": math.nan}, "surrogate.params.rate", "finite"),
        ({"booster": "linear"}, "surrogate.params.booster", "not one of"),
        ({"verbose": 1}, "surrogate.params.verbose", "true or false"),
        ({"depht": 3}, "surrogate.params.depht", "unknown parameter"),
        ({"depth": None}, "surrogate.params.depth", "required"),
    ],
)
def test_bad_values_raise_an_error_naming_the_field(given: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        resolve_params(SCHEMA, given, "surrogate.params")
    assert excinfo.value.field == field
    assert words in str(excinfo.value)


def test_schema_serialises_for_forms() -> None:
    described = SCHEMA[0].to_dict()
    assert described == {
        "name": "depth",
        "kind": "int",
        "default": 6,
        "help": "Tree depth.",
        "low": 1,
        "high": 20,
        "choices": None,
        "optional": False,
    }
