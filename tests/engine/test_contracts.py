"""Every registered component honours its kind's contract (see contracts.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from search_engine.registry import PENDING, REGISTRIES, SAMPLERS, SELECTORS, SOLVERS, SPACES, SURROGATES
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine import contracts


@pytest.mark.parametrize("key", SURROGATES.keys())
def test_surrogate_contract(key: str, zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    contracts.check_surrogate(key, X, Y)


@pytest.mark.parametrize("key", SAMPLERS.keys())
@pytest.mark.parametrize(
    "space",
    [
        HyTNASSpace(),
        GenericSpace(
            [
                {"name": "a", "type": "float", "low": 0, "high": 1},
                {"name": "b", "type": "int", "low": 0, "high": 9},
            ]
        ),
    ],
    ids=["hytnas", "mixed"],
)
def test_sampler_contract(key: str, space: object) -> None:
    contracts.check_sampler(key, space, 30)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", SOLVERS.keys())
def test_solver_contract(key: str) -> None:
    contracts.check_solver(key)


@pytest.mark.parametrize("key", SELECTORS.keys())
@pytest.mark.parametrize(("n_candidates", "batch"), [(30, 1), (30, 7), (5, 8)])
def test_selector_contract(key: str, n_candidates: int, batch: int) -> None:
    contracts.check_selector(key, n_candidates, batch)


@pytest.mark.parametrize("key", PENDING.keys())
def test_pending_strategy_contract(key: str) -> None:
    contracts.check_pending(key)


@pytest.mark.parametrize("key", PENDING.keys())
def test_a_proposal_never_holds_an_architecture_in_flight(key: str) -> None:
    contracts.check_proposal_avoids_points_in_flight(key)


@pytest.mark.parametrize("key", SPACES.keys())
def test_space_round_trips_cube_to_architecture_to_cube(key: str, rng: np.random.Generator) -> None:
    space = SPACES.build(
        key,
        {
            "variables": [
                {"name": "n", "type": "int", "low": 1, "high": 8},
                {"name": "w", "type": "log-float", "low": 1, "high": 100},
            ]
        }
        if key == "generic"
        else {},
    )
    X = space.canonicalize(rng.random((100, space.n_vars)))
    np.testing.assert_allclose(space.encode(space.decode(X)), X, atol=1e-12)


COMPONENTS = [(kind, key) for kind, registry in REGISTRIES.items() for key in registry.keys()]  # noqa: SIM118
"""Every registered component of every kind."""


@pytest.mark.parametrize(("kind", "key"), COMPONENTS)
def test_each_parameter_is_declared_once_and_the_schema_derives_from_it(kind: str, key: str) -> None:
    contracts.check_parameters_are_declared_once(REGISTRIES[kind].load(key))


@pytest.mark.parametrize(("kind", "key"), COMPONENTS)
def test_defaults_are_valid_and_construct_the_component(kind: str, key: str) -> None:
    contracts.check_defaults_construct(REGISTRIES[kind], key)


@pytest.mark.parametrize(("kind", "key"), COMPONENTS)
def test_out_of_bounds_values_are_refused_at_construction_naming_the_field(kind: str, key: str) -> None:
    contracts.check_out_of_bounds_values_are_refused(REGISTRIES[kind], key)


@pytest.mark.parametrize(("kind", "key"), COMPONENTS)
def test_description_is_json_in_the_shape_the_form_reads(kind: str, key: str) -> None:
    [entry] = [e for e in REGISTRIES[kind].describe() if e["key"] == key]
    assert json.loads(json.dumps(entry)) == entry
    assert set(entry) == {"key", "label", "params", "capabilities"}
    for described in entry["params"]:
        assert set(described) == {"name", "kind", "default", "help", "low", "high", "choices", "optional"}


@pytest.mark.parametrize("kind", list(REGISTRIES))
def test_the_base_of_each_kind_is_abstract(kind: str) -> None:
    base = REGISTRIES[kind].base
    with pytest.raises(TypeError, match="abstract"):
        base()

    @dataclass(eq=False)
    class Incomplete(base):  # type: ignore[valid-type, misc]
        """Declares no method of its kind."""

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_mypy_knows_the_type_of_every_component_a_configuration_builds() -> None:
    """``typing_checks.py`` asserts the static types; mypy must accept it, ``Any`` included as an error."""
    api = pytest.importorskip("mypy.api")
    path = Path(__file__).with_name("typing_checks.py")
    stdout, stderr, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(path)])
    assert status == 0, stdout + stderr
