"""Every registered component honours its kind's contract (see contracts.py)."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.registry import SAMPLERS, SELECTORS, SOLVERS, SPACES, SURROGATES
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
