"""NDS selection: lowest sum of per-objective ranks first."""

from __future__ import annotations

import numpy as np

from search_engine.registry import SELECTORS
from search_engine.selection.nds import NDSSelector
from tests.engine.selection.inputs import predictions_only


def test_nds_is_built_from_the_registry_and_accepts_rank_scores() -> None:
    selector = SELECTORS.build("nds")
    assert isinstance(selector, NDSSelector)
    assert selector.capabilities() == {"needs_values": False, "needs_std": False}


def test_nds_prefers_candidates_good_in_all_objectives() -> None:
    mean = np.array(
        [
            [0.0, 9.0],  # best in f1, worst in f2: ranks 1 + 5 = 6
            [2.0, 2.0],  # second in both: ranks 2 + 2 = 4
            [9.0, 0.0],  # ranks 5 + 1 = 6
            [3.0, 3.0],  # ranks 3 + 3 = 6
            [4.0, 4.0],  # ranks 4 + 4 = 8
        ]
    )
    picks = NDSSelector().select(predictions_only(mean), 5, np.random.default_rng(0))
    assert picks[0] == 1
    assert picks[-1] == 4


def test_nds_breaks_equal_sums_by_the_worst_rank_then_the_index() -> None:
    mean = np.array([[0.0, 9.0], [9.0, 0.0], [3.0, 3.0], [4.0, 4.0], [2.0, 2.0]])
    # Sums: 6, 6, 6, 8, 4; worst ranks 5, 5, 3: the balanced candidate 2 goes before 0 and 1.
    picks = NDSSelector().select(predictions_only(mean), 5, np.random.default_rng(0))
    assert picks.tolist() == [4, 2, 0, 1, 3]


def test_nds_gives_equal_predictions_equal_ranks() -> None:
    mean = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])
    # Ranks: (2.5, 1.5), (2.5, 1.5), (1, 3): sums 4, 4, 4; worst 2.5, 2.5, 3.
    picks = NDSSelector().select(predictions_only(mean), 3, np.random.default_rng(0))
    assert picks.tolist() == [0, 1, 2]


def test_nds_is_deterministic_and_returns_distinct_picks() -> None:
    mean = np.random.default_rng(3).integers(0, 3, size=(20, 3)).astype(float)
    first = NDSSelector().select(predictions_only(mean), 10, np.random.default_rng(1))
    second = NDSSelector().select(predictions_only(mean), 10, np.random.default_rng(2))
    assert first.tolist() == second.tolist()
    assert np.unique(first).shape == (10,)
