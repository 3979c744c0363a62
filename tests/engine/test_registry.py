"""Registries: lookup by name, clear errors, lazy imports, describe() for forms."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest

from search_engine.component import Component
from search_engine.errors import ConfigError
from search_engine.params import param
from search_engine.registry import REGISTRIES, SURROGATES, Registry, describe
from search_engine.surrogates.base import Surrogate


@dataclass(frozen=True)
class _Toy(Component):
    KIND: ClassVar[str] = "toy"

    size: int = param(3, "How big.", low=1, high=10)


def test_unknown_key_names_it_and_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as excinfo:
        SURROGATES.build("forest", {}, "surrogate")
    assert excinfo.value.field == "surrogate.name"
    assert "'forest'" in str(excinfo.value) and "gp" in str(excinfo.value) and "xgboost" in str(excinfo.value)


def test_registering_a_key_twice_is_an_error() -> None:
    registry: Registry[_Toy] = Registry(_Toy)
    registry.register("a", "A", "tests.engine.test_registry._Toy")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", "A again", "tests.engine.test_registry._Toy")


def test_build_validates_parameters_and_fills_defaults() -> None:
    registry: Registry[_Toy] = Registry(_Toy)
    registry.register("toy", "Toy", "tests.engine.test_registry._Toy")
    assert registry.build("toy").size == 3
    with pytest.raises(ConfigError) as excinfo:
        registry.build("toy", {"size": 11}, "widget")
    assert excinfo.value.field == "widget.params.size"


def test_every_registered_class_imports_and_describes_itself() -> None:
    described = describe()
    assert set(described) == {
        "space",
        "evaluator",
        "sampler",
        "surrogate",
        "acquisition",
        "solver",
        "selection",
        "pending",
        "feasibility",
    }
    for kind, entries in described.items():
        assert [e["key"] for e in entries] == REGISTRIES[kind].keys()
        for entry in entries:
            assert entry["label"]
            for described_param in entry["params"]:
                name = described_param["name"]
                assert described_param["help"], f"{kind} {entry['key']} parameter {name} has no help text"
    json.dumps(described)  # a web form receives it as JSON


def test_surrogates_declare_their_capabilities() -> None:
    flags = {e["key"]: e["capabilities"] for e in describe()["surrogate"]}
    assert flags["gp"] == {"provides_std": True, "predicts_values": True}
    assert flags["xgboost"]["provides_std"] is False
    assert flags["xgb-ranker"]["predicts_values"] is False
    assert flags["mlp-ensemble"]["predicts_values"] is False


def test_describing_the_registry_loads_neither_torch_nor_xgboost() -> None:
    code = (
        "import sys, search_engine; search_engine.describe(); "
        "print(sorted(m for m in ('torch', 'xgboost', 'sklearn', 'django') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_whole_engine_leaves_django_out() -> None:
    code = (
        "import sys, pkgutil, importlib, search_engine\n"
        "for m in pkgutil.walk_packages(search_engine.__path__, 'search_engine.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print('django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_class_of_another_kind_is_refused_when_loaded() -> None:
    registry: Registry[Surrogate] = Registry(Surrogate)
    registry.register("toy", "Toy", "tests.engine.test_registry._Toy")
    with pytest.raises(TypeError, match="is not a Surrogate"):
        registry.load("toy")
