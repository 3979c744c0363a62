"""Parameter schemas: validation messages name the field; defaults fill the rest."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import pytest

from search_engine.component import Component
from search_engine.errors import ConfigError
from search_engine.params import Param, param, resolve_params

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


@dataclass(frozen=True)
class _Declared(Component):
    KIND: ClassVar[str] = "widget"

    depth: int = param(6, "Tree depth.", low=1, high=20)
    rate: float = param(0.1, "Learning rate.", low=0.0, high=1.0)
    booster: Literal["gbtree", "dart"] = param("gbtree", "Booster.")
    nu: float = param(2.5, "Smoothness.", choices=(0.5, 2.5))
    verbose: bool = param(False, "Print progress.")
    label: str = param("tree", "Name shown in charts.")
    limit: float | None = param(None, "Optional cap.", low=0.0)
    layers: list[int] = param([8, 8], "Hidden layer sizes.")


def test_the_schema_comes_from_the_field_declarations() -> None:
    kinds = {p.name: (p.kind, p.choices, p.optional) for p in _Declared.schema()}
    assert kinds == {
        "depth": ("int", None, False),
        "rate": ("float", None, False),
        "booster": ("choice", ("gbtree", "dart"), False),
        "nu": ("choice", (0.5, 2.5), False),
        "verbose": ("bool", None, False),
        "label": ("str", None, False),
        "limit": ("float", None, True),
        "layers": ("json", None, False),
    }
    assert _Declared.schema()[0] == SCHEMA[0]


def test_construction_validates_converts_and_copies_defaults() -> None:
    widget = _Declared(depth=4.0, rate=1)
    assert (widget.depth, widget.rate) == (4, 1.0) and isinstance(widget.rate, float)
    with pytest.raises(ConfigError) as excinfo:
        _Declared(depth=21)
    assert excinfo.value.field == "widget.params.depth"
    with pytest.raises(ConfigError) as excinfo:
        _Declared(nu=1.5)
    assert excinfo.value.field == "widget.params.nu"
    assert _Declared().layers is not _Declared().layers  # a list default is not shared
