"""Stored values read as finite numbers the same way by every chart and table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_engine.finite_numbers import finite_or_none


@pytest.mark.parametrize("value", [None, "3", True, math.nan, math.inf, -math.inf, 10**400, [1.0]])
def test_anything_but_a_finite_number_reads_as_none(value: object) -> None:
    assert finite_or_none(value) is None


def test_json_and_numpy_numbers_read_as_floats() -> None:
    assert [finite_or_none(v) for v in (3, -2.5, np.float32(0.5), np.int64(7))] == [3.0, -2.5, 0.5, 7.0]
    assert isinstance(finite_or_none(3), float)
