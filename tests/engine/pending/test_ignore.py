"""Ignore: in-flight points are excluded, and the fit does not hear of them."""

from __future__ import annotations

import numpy as np

from search_engine.pending.ignore import IgnorePending


def test_ignoring_leaves_the_points_in_flight_out_of_the_fit() -> None:
    assert IgnorePending().fantasies(np.ones((3, 2)), np.zeros((2, 4)), lambda points: points) is None
