"""Hypervolume, HVI and greedy HVI batches against hand-computed cases, pymoo and a brute-force greedy."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest

from search_engine.metrics import hypervolume as hv_module
from search_engine.metrics.hypervolume import (
    greedy_hvi,
    hypervolume,
    hypervolume_improvement,
    igd,
    log_hypervolume_difference,
)

STAIRS = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
REF_4 = np.array([4.0, 4.0])


def _brute_force_greedy(
    C: np.ndarray, F: np.ndarray, ref: np.ndarray, k: int
) -> tuple[list[int], list[float]]:
    """Plain greedy by hypervolume differences; stops when no candidate adds anything."""
    current = F.copy()
    remaining = list(range(C.shape[0]))
    picks, gains = [], []
    for _ in range(k):
        base = hypervolume(current, ref)
        improvement = [hypervolume(np.vstack([current, C[i]]), ref) - base for i in remaining]
        best = int(np.argmax(improvement))
        if improvement[best] <= 1e-12:
            break
        picks.append(remaining.pop(best))
        gains.append(improvement[best])
        current = np.vstack([current, C[picks[-1]]])
    return picks, gains


def _around_the_unit_sphere(rng: np.random.Generator, n: int, n_objectives: int) -> np.ndarray:
    """``(n, m)`` positive points at radius 1 +- 10 %."""
    directions = np.abs(rng.normal(size=(n, n_objectives)))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0.9, 1.1, (n, 1))


def test_two_objective_staircase_is_hand_computed() -> None:
    # Columns of width 1 and heights 1, 2, 3.
    assert hypervolume(STAIRS, REF_4) == pytest.approx(6.0)


def test_three_objective_union_of_two_boxes_is_hand_computed() -> None:
    Y = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    # Boxes of volume 2*2*1 and 1*1*2 overlapping in a unit cube.
    assert hypervolume(Y, np.array([2.0, 2.0, 2.0])) == pytest.approx(5.0)


def test_points_not_strictly_better_than_the_reference_add_nothing() -> None:
    on_the_boundary = np.vstack([STAIRS, [[4.0, 0.0], [0.0, 4.0], [5.0, 5.0]]])
    assert hypervolume(on_the_boundary, REF_4) == pytest.approx(6.0)
    assert hypervolume(np.array([[4.0, 0.0]]), REF_4) == 0.0
    assert hypervolume(np.empty((0, 2)), REF_4) == 0.0


def test_hypervolume_of_a_zdt1_front_matches_pymoo() -> None:
    from pymoo.indicators.hv import HV

    f1 = np.linspace(0.0, 1.0, 200)
    front = np.column_stack([f1, 1.0 - np.sqrt(f1)])
    ref = np.array([1.1, 1.1])
    expected = HV(ref_point=ref)(front)
    assert hypervolume(front, ref) == pytest.approx(expected, rel=1e-12)
    # The continuous front with ref (1, 1) encloses 1 - integral(1 - sqrt x) = 2/3.
    assert hypervolume(front, np.array([1.0, 1.0])) == pytest.approx(2.0 / 3.0, abs=5e-3)


def test_hypervolume_improvement_of_hand_placed_candidates() -> None:
    candidates = np.array([[1.5, 1.5], [2.5, 2.5], [0.0, 5.0], [0.0, 0.0], [2.0, 2.0]])
    gains = hypervolume_improvement(candidates, STAIRS, REF_4)
    # With (1.5, 1.5) the staircase has columns 0.5*1 + 1.5*2.5 + 1*3 = 7.25; without it, 6.
    # Dominated, outside-the-box and duplicated candidates add nothing; (0, 0) adds 16 - 6.
    assert gains == pytest.approx([1.25, 0.0, 0.0, 10.0, 0.0])


@pytest.mark.parametrize("n_objectives", [2, 3, 4])
def test_hypervolume_improvement_equals_the_hypervolume_difference(n_objectives: int) -> None:
    rng = np.random.default_rng(7)
    ref = np.full(n_objectives, 1.0)
    front = rng.random((20, n_objectives))
    candidates = rng.random((30, n_objectives)) * 1.1
    base = moocore.hypervolume(front, ref=ref)
    expected = [moocore.hypervolume(np.vstack([front, c]), ref=ref) - base for c in candidates]
    assert hypervolume_improvement(candidates, front, ref) == pytest.approx(expected, abs=1e-12)


def test_hypervolume_improvement_over_an_empty_front_is_the_candidates_box() -> None:
    gains = hypervolume_improvement(np.array([[1.0, 2.0], [5.0, 1.0]]), np.empty((0, 2)), REF_4)
    assert gains == pytest.approx([6.0, 0.0])


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_greedy_hvi_equals_a_brute_force_greedy_on_random_instances(n_objectives: int) -> None:
    rng = np.random.default_rng(100 + n_objectives)
    ref = np.full(n_objectives, 1.2)
    for _ in range(8):
        # Front and candidates scattered around the unit sphere: many candidates improve the front.
        points = _around_the_unit_sphere(rng, 45, n_objectives)
        front, candidates = points[:15], points[15:]
        picks, gains = greedy_hvi(candidates, front, ref, 20)
        expected_picks, expected_gains = _brute_force_greedy(candidates, front, ref, 20)
        assert len(expected_picks) >= 5, "instance too easy: few candidates improve"
        used = len(expected_picks)
        assert picks[:used].tolist() == expected_picks
        assert gains[:used] == pytest.approx(expected_gains, abs=1e-12)
        assert np.all(gains[used:] == 0.0)


def test_greedy_hvi_first_pick_adds_the_most_hypervolume() -> None:
    rng = np.random.default_rng(3)
    front, candidates, ref = rng.random((10, 2)), rng.random((25, 2)), np.array([1.2, 1.2])
    picks, gains = greedy_hvi(candidates, front, ref, 5)
    alone = hypervolume_improvement(candidates, front, ref)
    assert picks[0] == int(np.argmax(alone))
    assert gains[0] == pytest.approx(alone.max())
    assert np.all(np.diff(gains) <= 1e-15)  # submodular: each pick adds no more than the previous


def test_greedy_hvi_never_picks_the_same_candidate_twice_and_fills_the_batch() -> None:
    rng = np.random.default_rng(4)
    candidates = rng.random((12, 2))
    picks, gains = greedy_hvi(np.vstack([candidates, candidates]), rng.random((5, 2)), REF_4 / 4, 24)
    assert picks.shape == (24,) and np.unique(picks).shape == (24,)
    assert gains.shape == (24,)


def test_greedy_hvi_orders_zero_improvement_candidates_by_rank_then_epsilon() -> None:
    front, ref = np.array([[1.0, 1.0]]), np.array([3.0, 3.0])
    dominated = [2.0, 2.0]  # rank 1 among the candidates (the next one dominates it)
    nearly_free = [1.5, 1.2]  # rank 0, dominated by the front point; scaled shift min(0.5/4, 0.2/2.5) = 0.08
    outside = [5.0, 0.5]  # rank 0, beyond the reference in f1: scaled shift (5 - 3)/4 = 0.5
    picks, gains = greedy_hvi(np.array([dominated, nearly_free, outside]), front, ref, 3)
    assert picks.tolist() == [1, 2, 0]
    assert gains.tolist() == [0.0, 0.0, 0.0]


def test_greedy_hvi_takes_improving_candidates_before_filling() -> None:
    front, ref = np.array([[1.0, 1.0]]), np.array([3.0, 3.0])
    candidates = np.array([[2.0, 2.0], [0.5, 2.0], [4.0, 4.0]])
    picks, gains = greedy_hvi(candidates, front, ref, 3)
    assert picks.tolist() == [1, 0, 2]
    assert gains[0] == pytest.approx(0.5 * 1.0) and gains[1:].tolist() == [0.0, 0.0]


def test_greedy_hvi_returns_at_most_the_number_of_candidates() -> None:
    picks, gains = greedy_hvi(np.array([[1.0, 1.0], [2.0, 0.5]]), np.empty((0, 2)), REF_4, 5)
    assert sorted(picks.tolist()) == [0, 1] and gains.shape == (2,)
    empty, _ = greedy_hvi(np.array([[1.0, 1.0]]), np.empty((0, 2)), REF_4, 0)
    assert empty.shape == (0,)


def test_greedy_hvi_re_evaluates_fewer_candidates_than_plain_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = moocore.hypervolume

    def counting(*args: object, **kwargs: object) -> float:
        nonlocal calls
        calls += 1
        return float(real(*args, **kwargs))  # type: ignore[arg-type]

    monkeypatch.setattr(hv_module.moocore, "hypervolume", counting)
    points = _around_the_unit_sphere(np.random.default_rng(5), 80, 3)
    front, candidates = points[:40], points[40:]
    picks, gains = greedy_hvi(candidates, front, np.full(3, 1.1), 20)
    assert picks.shape == (20,) and np.all(gains > 0)
    plain = sum(range(21, 41))  # every remaining candidate at every one of the 20 picks
    assert calls < plain / 2


def test_log_hypervolume_difference_is_log10_of_the_gap_with_a_floor() -> None:
    assert log_hypervolume_difference(0.9, 1.0) == pytest.approx(-1.0)
    assert log_hypervolume_difference(1.0 + 1e-15, 1.0) == pytest.approx(-12.0)
    assert log_hypervolume_difference(1.0, 1.0, floor=1e-6) == pytest.approx(-6.0)
    with pytest.raises(ValueError):
        log_hypervolume_difference(math.nan, 1.0)


def test_igd_of_a_hand_placed_set() -> None:
    true_front = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert igd(np.array([[0.0, 1.0]]), true_front) == pytest.approx(math.sqrt(2.0) / 2.0)
    assert igd(np.empty((0, 2)), true_front) == math.inf


def test_igd_matches_pymoo() -> None:
    from pymoo.indicators.igd import IGD

    rng = np.random.default_rng(6)
    f1 = np.linspace(0.0, 1.0, 100)
    true_front = np.column_stack([f1, 1.0 - np.sqrt(f1)])
    Y = rng.random((30, 2))
    assert igd(Y, true_front) == pytest.approx(IGD(true_front)(Y), rel=1e-12)
