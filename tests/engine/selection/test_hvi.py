"""HVI selection: greedy hypervolume improvement of predicted means over the measured front."""

from __future__ import annotations

import numpy as np

from search_engine.metrics.hypervolume import hypervolume
from search_engine.registry import SELECTORS
from search_engine.selection.base import SelectionInput
from search_engine.selection.hvi import HVISelector


def _input(mean: np.ndarray, Y_measured: np.ndarray, ref_point: np.ndarray) -> SelectionInput:
    return SelectionInput(
        X=np.zeros((mean.shape[0], 2)), mean=mean, std=None, Y_measured=Y_measured, ref_point=ref_point
    )


def _random_problem(seed: int) -> SelectionInput:
    rng = np.random.default_rng(seed)
    return _input(rng.random((30, 2)), rng.random((10, 2)), np.array([1.1, 1.1]))


def test_hvi_is_built_from_the_registry_and_needs_values() -> None:
    selector = SELECTORS.build("hvi")
    assert isinstance(selector, HVISelector)
    assert selector.capabilities() == {"needs_values": True, "needs_std": False}


def test_hvi_picks_the_candidate_that_adds_the_most_hypervolume_first() -> None:
    measured = np.array([[1.0, 3.0], [3.0, 1.0]])
    ref = np.array([4.0, 4.0])
    # Adds 1.5 x 1.5 = 2.25, 0.5 x 0.5 = 0.25 and nothing (dominated) respectively.
    mean = np.array([[2.5, 2.5], [1.5, 1.5], [3.5, 3.5]])
    picks = HVISelector().select(_input(mean, measured, ref), 1, np.random.default_rng(0))
    assert picks.tolist() == [1]


def test_hvi_ignores_dominated_measurements_when_building_the_front() -> None:
    front = np.array([[1.0, 3.0], [3.0, 1.0]])
    with_dominated = np.vstack([front, [[3.5, 3.5], [2.0, 3.5]]])
    mean = np.random.default_rng(1).random((15, 2)) * 4.0
    ref, rng = np.array([4.0, 4.0]), np.random.default_rng(0)
    expected = HVISelector().select(_input(mean, front, ref), 5, rng)
    assert HVISelector().select(_input(mean, with_dominated, ref), 5, rng).tolist() == expected.tolist()


def test_hvi_batch_covers_more_hypervolume_than_the_best_individual_candidates() -> None:
    problem = _random_problem(2)
    picks = HVISelector().select(problem, 5, np.random.default_rng(0))
    top_alone = np.argsort(
        [-hypervolume(np.vstack([problem.Y_measured, m]), problem.ref_point) for m in problem.mean]
    )[:5]

    def batch_hv(indices: np.ndarray) -> float:
        return hypervolume(np.vstack([problem.Y_measured, problem.mean[indices]]), problem.ref_point)

    assert batch_hv(picks) >= batch_hv(top_alone) - 1e-12


def test_hvi_returns_exactly_the_batch_size_of_distinct_candidates() -> None:
    picks = HVISelector().select(_random_problem(3), 20, np.random.default_rng(0))
    assert picks.shape == (20,) and np.unique(picks).shape == (20,)


def test_hvi_is_deterministic() -> None:
    first = HVISelector().select(_random_problem(4), 8, np.random.default_rng(1))
    second = HVISelector().select(_random_problem(4), 8, np.random.default_rng(2))
    assert first.tolist() == second.tolist()


def test_hvi_works_before_anything_is_measured() -> None:
    mean = np.array([[0.5, 0.5], [0.2, 0.9], [2.0, 2.0]])
    picks = HVISelector().select(
        _input(mean, np.empty((0, 2)), np.array([1.0, 1.0])), 3, np.random.default_rng(0)
    )
    assert picks.tolist() == [0, 1, 2]


def test_hvi_in_three_objectives_picks_the_largest_improvement_first() -> None:
    rng = np.random.default_rng(5)
    problem = _input(rng.random((20, 3)), rng.random((8, 3)), np.full(3, 1.1))
    picks = HVISelector().select(problem, 6, rng)
    front = problem.Y_measured
    alone = [hypervolume(np.vstack([front, m]), problem.ref_point) for m in problem.mean]
    assert np.unique(picks).shape == (6,)
    assert picks[0] == int(np.argmax(alone))


def _edge_problem(std: np.ndarray | None) -> SelectionInput:
    """Measured front (0, 3), (1, 1), (3, 0), reference (4, 4); two candidates.

    Candidate 0 is predicted past the best measured f1 (an overshoot to -0.6 at the f1 = 0 edge):
    it adds 0.6 x 0.9 = 0.54 there. Candidate 1 lies in the front's gap between (0, 3) and (1, 1)
    and adds 0.2 x 1.5 = 0.3.
    """
    measured = np.array([[0.0, 3.0], [1.0, 1.0], [3.0, 0.0]])
    mean = np.array([[-0.6, 3.1], [0.8, 1.5]])
    return SelectionInput(
        X=np.zeros((2, 2)), mean=mean, std=std, Y_measured=measured, ref_point=np.array([4.0, 4.0])
    )


def _first_pick(selector: HVISelector, problem: SelectionInput) -> int:
    return int(selector.select(problem, 1, np.random.default_rng(0))[0])


def test_hvi_reads_a_prediction_past_the_best_measured_value_at_face_value_by_default() -> None:
    assert _first_pick(HVISelector(), _edge_problem(np.array([[0.3, 0.1], [0.05, 0.05]]))) == 0


def test_an_overshoot_within_the_surrogates_uncertainty_counts_for_nothing_past_the_best() -> None:
    problem = _edge_problem(np.array([[0.3, 0.1], [0.05, 0.05]]))
    # k = 0.5: -0.6 + 0.15 = -0.45 is still past 0 and adds 0.405, more than the gap's 0.3.
    assert _first_pick(HVISelector(beyond_best_std=0.5), problem) == 0
    # k = 3: -0.6 + 0.9 = 0.3 is not past the best 0, so the candidate adds nothing there.
    assert _first_pick(HVISelector(beyond_best_std=3.0), problem) == 1


def test_a_non_finite_std_is_unsure_and_a_missing_one_leaves_the_means_as_they_are() -> None:
    assert (
        _first_pick(HVISelector(beyond_best_std=0.5), _edge_problem(np.array([[np.nan, 0.1], [0.05, 0.05]])))
        == 1
    )
    assert _first_pick(HVISelector(beyond_best_std=0.5), _edge_problem(None)) == 0


def test_predictions_inside_the_measured_range_are_read_as_they_are_whatever_the_std() -> None:
    rng = np.random.default_rng(6)
    measured = np.vstack([rng.random((10, 2)), [[0.0, 1.05], [1.05, 0.0]]])  # best 0: none is past it
    problem = SelectionInput(
        np.zeros((30, 2)), rng.random((30, 2)), np.full((30, 2), 5.0), measured, np.array([1.1, 1.1])
    )
    plain = HVISelector().select(problem, 6, np.random.default_rng(0))
    assert (
        HVISelector(beyond_best_std=2.0).select(problem, 6, np.random.default_rng(0)).tolist()
        == plain.tolist()
    )
