"""Front-ends selection: the best predicted candidate of each objective in turn."""

from __future__ import annotations

import numpy as np

from search_engine.registry import SELECTORS
from search_engine.selection.ends import EndsSelector
from tests.engine.selection.inputs import predictions_only


def test_ends_is_built_from_the_registry_and_reads_only_the_order_of_predictions() -> None:
    selector = SELECTORS.build("ends")
    assert isinstance(selector, EndsSelector)
    assert selector.capabilities() == {"needs_values": False, "needs_std": False}


def test_ends_takes_each_objectives_best_in_turn_even_beyond_the_reference_point() -> None:
    mean = np.array(
        [
            [0.5, 0.5],  # the middle: the most hypervolume, not an end
            [0.0, 9.0],  # the f1 end, far beyond the reference point in f2
            [9.0, 0.0],  # the f2 end
            [0.1, 8.0],  # next best in f1
            [8.0, 0.2],  # next best in f2
        ]
    )
    picks = EndsSelector().select(predictions_only(mean), 4, np.random.default_rng(0))
    assert picks.tolist() == [1, 2, 3, 4]
    three = np.column_stack([mean, [3.0, 2.0, 1.0, 0.0, 4.0]])  # a third objective joins the turns
    assert EndsSelector().select(predictions_only(three), 3, np.random.default_rng(0)).tolist() == [1, 2, 3]


def test_ends_skips_a_candidate_already_taken_for_another_objective() -> None:
    mean = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # candidate 0 is best in both
    assert EndsSelector().select(predictions_only(mean), 3, np.random.default_rng(0)).tolist() == [0, 1, 2]
