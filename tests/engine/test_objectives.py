"""Objectives: minimisation form, reference points given or derived by the documented rule."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.objectives import (
    Objective,
    derive_reference_point,
    from_minimisation,
    given_reference_point,
    to_minimisation,
)

ACC_LAT = (Objective("accuracy", "max", "%"), Objective("latency", "min", "ms"))


def test_maximised_objectives_are_negated_and_back() -> None:
    Y = np.array([[80.0, 1200.0]])
    assert to_minimisation(Y, ACC_LAT).tolist() == [[-80.0, 1200.0]]
    assert from_minimisation(to_minimisation(Y, ACC_LAT), ACC_LAT).tolist() == Y.tolist()


def test_given_reference_point_is_written_in_units_and_stored_minimised() -> None:
    ref = given_reference_point((75, 3500), ACC_LAT)
    assert ref.values == (-75.0, 3500.0)
    assert ref.derived is False


def test_derived_reference_point_is_worst_value_plus_a_tenth_of_the_range() -> None:
    Y_min = np.array([[-80.0, 1000.0], [-70.0, 3000.0], [np.nan, np.nan]])
    ref = derive_reference_point(Y_min)
    assert ref.derived is True and "10%" in ref.rule
    np.testing.assert_allclose(ref.values, (-70.0 + 1.0, 3000.0 + 200.0))


def test_derived_reference_point_of_a_constant_objective_still_lies_beyond_it() -> None:
    ref = derive_reference_point(np.array([[2.0, 0.0], [1.0, 0.0]]))
    assert ref.values[1] > 0.0


def test_no_finite_data_means_no_derived_reference_point() -> None:
    with pytest.raises(ValueError, match="no finite"):
        derive_reference_point(np.full((3, 2), np.nan))


def test_objective_needs_a_name_and_a_known_direction() -> None:
    with pytest.raises(ConfigError) as excinfo:
        Objective.from_dict({"name": "acc", "direction": "up"}, "objectives[0]")
    assert excinfo.value.field == "objectives[0].direction"
    with pytest.raises(ConfigError) as excinfo:
        Objective.from_dict({"name": " "}, "objectives[1]")
    assert excinfo.value.field == "objectives[1].name"
