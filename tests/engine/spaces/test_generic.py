"""Generic spaces: spec validation, decode/encode round trips, keys, uniform sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_engine.errors import ConfigError, EncodeError
from search_engine.spaces.generic import GenericSpace

MIXED = [
    {"name": "layers", "type": "int", "low": 1, "high": 5},
    {"name": "lr", "type": "log-float", "low": 1e-4, "high": 1e-1},
    {"name": "dropout", "type": "float", "low": 0.0, "high": 0.5},
    {"name": "act", "type": "choice", "choices": ["relu", "gelu", "silu"]},
]


def test_decode_maps_bins_to_values_and_continuous_variables_linearly() -> None:
    space = GenericSpace(MIXED)
    [arch] = space.decode(np.array([[0.0, 0.5, 1.0, 0.99]]))
    assert arch["layers"] == 1
    assert math.isclose(arch["lr"], math.sqrt(1e-4 * 1e-1))  # geometric midpoint
    assert arch["dropout"] == 0.5
    assert arch["act"] == "silu"


def test_encode_decode_round_trip_over_random_points(rng: np.random.Generator) -> None:
    space = GenericSpace(MIXED)
    X = rng.random((200, 4))
    archs = space.decode(X)
    again = space.decode(space.encode(archs))
    for a, b in zip(archs, again, strict=True):
        assert a["layers"] == b["layers"] and a["act"] == b["act"]
        assert math.isclose(a["lr"], b["lr"], rel_tol=1e-9)
        assert math.isclose(a["dropout"], b["dropout"], rel_tol=1e-9, abs_tol=1e-12)


def test_points_in_the_same_bin_share_canonical_point_and_key() -> None:
    space = GenericSpace([{"name": "n", "type": "int", "low": 0, "high": 3}])
    X = np.array([[0.26], [0.49], [0.51]])
    canonical = space.canonicalize(X)
    assert canonical[0, 0] == canonical[1, 0] == 0.375
    assert canonical[2, 0] == 0.625
    keys = space.keys(X)
    assert keys[0] == keys[1] != keys[2]


def test_extremes_of_the_cube_decode_to_first_and_last_choice() -> None:
    space = GenericSpace(MIXED)
    first, last = space.decode(np.array([[0.0] * 4, [1.0] * 4]))
    assert (first["layers"], first["act"]) == (1, "relu")
    assert (last["layers"], last["act"]) == (5, "silu")


def test_encode_rejects_values_outside_the_space() -> None:
    space = GenericSpace(MIXED)
    good = {"layers": 2, "lr": 0.01, "dropout": 0.1, "act": "relu"}
    with pytest.raises(ValueError, match="layers"):
        space.encode([{**good, "layers": 9}])
    with pytest.raises(ValueError, match="act"):
        space.encode([{**good, "act": "tanh"}])
    with pytest.raises(ValueError, match="dropout"):
        space.encode([{k: v for k, v in good.items() if k != "dropout"}])


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ([], "space.params.variables"),
        ([{"name": "a", "type": "bogus"}], "space.params.variables[0].type"),
        ([{"name": "a", "type": "float", "low": 1, "high": 0}], "space.params.variables[0].high"),
        ([{"name": "a", "type": "log-float", "low": 0, "high": 1}], "space.params.variables[0].low"),
        ([{"name": "a", "type": "choice", "choices": []}], "space.params.variables[0].choices"),
        ([{"name": "a", "type": "int", "low": 0.5, "high": 3}], "space.params.variables[0].low"),
        ([{"name": "a", "type": "int", "low": 0, "high": 3}] * 2, "space.params.variables"),
    ],
)
def test_bad_variable_specs_name_the_field(variables: list[dict[str, object]], field: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        GenericSpace(variables)
    assert excinfo.value.field == field


def test_spec_round_trip_rebuilds_an_equal_space() -> None:
    space = GenericSpace(MIXED)
    rebuilt = GenericSpace(space.to_spec()["params"]["variables"])
    X = np.random.default_rng(0).random((20, 4))
    assert rebuilt.keys(X) == space.keys(X)


def test_uniform_sampling_covers_every_choice_equally(rng: np.random.Generator) -> None:
    space = GenericSpace([{"name": "c", "type": "choice", "choices": ["a", "b", "c", "d"]}])
    values = [a["c"] for a in space.decode(space.sample_uniform(4000, rng))]
    counts = np.array([values.count(v) for v in "abcd"])
    assert counts.min() > 850 and counts.max() < 1150


def test_sample_unique_returns_distinct_new_architectures_until_the_space_is_exhausted(
    rng: np.random.Generator,
) -> None:
    space = GenericSpace([{"name": "n", "type": "int", "low": 1, "high": 6}])
    taken = space.keys(np.array([[0.05], [0.95]]))
    X = space.sample_unique(10, rng, exclude=taken)
    keys = space.keys(X)
    assert sorted(keys) == ["2", "3", "4", "5"]
    assert space.n_architectures == 6


def test_continuous_space_counts_infinitely_many_architectures() -> None:
    assert GenericSpace(MIXED).n_architectures == math.inf


@pytest.mark.parametrize(
    ("value", "variable", "words"),
    [
        ({"act": "tanh"}, "act", "is not a choice"),
        ({"layers": 9}, "layers", "outside"),
        ({"layers": 2.5}, "layers", "not a whole number"),
        ({"lr": "fast"}, "lr", "not a number"),
        ({"dropout": None}, "dropout", "not a number"),
    ],
)
def test_an_encode_error_names_the_variable_value_and_row_it_refuses(
    value: dict[str, object], variable: str, words: str
) -> None:
    space = GenericSpace(MIXED)
    good = {"layers": 2, "lr": 0.01, "dropout": 0.1, "act": "relu"}
    with pytest.raises(EncodeError, match=words) as error:
        space.encode([good, good, {**good, **value}])
    assert (error.value.variable, error.value.value, error.value.row) == (variable, *value.values(), 2)


def test_a_missing_variable_is_an_encode_error_naming_it() -> None:
    space = GenericSpace(MIXED)
    with pytest.raises(EncodeError) as error:
        space.encode([{"layers": 2, "lr": 0.01, "act": "relu"}])
    assert (error.value.variable, error.value.value, error.value.row) == ("dropout", None, 0)
