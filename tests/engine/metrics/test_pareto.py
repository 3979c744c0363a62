"""Non-dominated sorting, the first front and crowding distance, checked by hand and by brute force."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.metrics.pareto import crowding_distance, non_dominated_ranks, pareto_front, pareto_mask


def _peeling_ranks(Y: np.ndarray) -> np.ndarray:
    """Reference: remove the non-dominated points front by front (O(n^3), for small sets)."""
    ranks = np.full(Y.shape[0], -1)
    remaining = np.arange(Y.shape[0])
    rank = 0
    while remaining.size:
        S = Y[remaining]
        # s is dominated when some row is no worse everywhere and better somewhere.
        dominated = np.array([np.any(np.all(s >= S, axis=1) & np.any(s > S, axis=1)) for s in S])
        ranks[remaining[~dominated]] = rank
        remaining = remaining[dominated]
        rank += 1
    return ranks


def test_ranks_of_a_hand_written_set_follow_the_dominance_chain() -> None:
    Y = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]])
    assert non_dominated_ranks(Y).tolist() == [0, 0, 0, 1, 2, 3]


def test_duplicated_points_share_a_rank_and_both_stay_in_the_mask() -> None:
    Y = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 3.0]])
    assert non_dominated_ranks(Y).tolist() == [0, 0, 1]
    assert pareto_mask(Y).tolist() == [True, True, False]


def test_a_point_equal_in_one_objective_and_worse_in_another_is_dominated() -> None:
    Y = np.array([[1.0, 1.0], [1.0, 2.0]])
    assert non_dominated_ranks(Y).tolist() == [0, 1]


@pytest.mark.parametrize("n_objectives", [1, 2, 3, 4])
def test_ranks_match_front_peeling_on_random_sets_with_ties(n_objectives: int) -> None:
    rng = np.random.default_rng(n_objectives)
    for _ in range(30):
        # Small integer grid: many ties and duplicates.
        Y = rng.integers(0, 4, size=(25, n_objectives)).astype(float)
        assert np.array_equal(non_dominated_ranks(Y), _peeling_ranks(Y))


def test_pareto_front_is_distinct_and_sorted_by_the_first_objective() -> None:
    Y = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [2.0, 2.0], [3.0, 3.0]])
    front = pareto_front(Y)
    assert front.tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]


def test_empty_input_gives_empty_results_with_the_right_shapes() -> None:
    Y = np.empty((0, 3))
    assert non_dominated_ranks(Y).shape == (0,)
    assert pareto_mask(Y).shape == (0,)
    assert pareto_front(Y).shape == (0, 3)


def test_non_finite_objectives_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        non_dominated_ranks(np.array([[1.0, np.nan]]))


def test_crowding_distance_of_points_on_a_line_is_hand_computed() -> None:
    Y = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    distance = crowding_distance(Y)
    assert np.isinf(distance[0]) and np.isinf(distance[3])
    # Each interior point: (2 - 0) / 3 in the first objective plus (3 - 1) / 3 in the second.
    assert distance[1:3] == pytest.approx([4.0 / 3.0, 4.0 / 3.0])


def test_crowding_distance_ignores_an_objective_without_range() -> None:
    Y = np.array([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0]])
    assert crowding_distance(Y)[1] == pytest.approx(3.0 / 3.0)
