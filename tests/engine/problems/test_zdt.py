"""ZDT1-3: function values against hand-written formulas, fronts against their curves and pymoo's fronts."""

from __future__ import annotations

import moocore
import numpy as np
import pytest
from scipy.spatial import cKDTree

from search_engine.problems.catalog import BENCHMARKS
from search_engine.problems.zdt import running_best_mask, spread_over_runs, zdt3_front
from tests.engine.conftest import zdt1

# pymoo's ZDT3 front: the five intervals of f1 that make up the front.
ZDT3_PIECES = [
    (0.0, 0.0830015349),
    (0.182228780, 0.2577623634),
    (0.4093136748, 0.4538821041),
    (0.6183967944, 0.6525117038),
    (0.8233317983, 0.8518328654),
]


def _zdt_g(X: np.ndarray) -> np.ndarray:
    return 1.0 + 9.0 * X[:, 1:].sum(axis=1) / (X.shape[1] - 1)


def test_zdt1_at_the_origin_is_zero_one() -> None:
    problem = BENCHMARKS["zdt1"].with_size(6, 2)
    np.testing.assert_allclose(problem.evaluate(np.zeros((1, 6))), [[0.0, 1.0]])


def test_zdt1_matches_the_hand_written_formula(rng: np.random.Generator) -> None:
    X = rng.random((50, 4))
    np.testing.assert_allclose(BENCHMARKS["zdt1"].with_size(4, 2).evaluate(X), zdt1(X), rtol=1e-12)


def test_zdt2_and_zdt3_match_their_formulas(rng: np.random.Generator) -> None:
    X = rng.random((50, 5))
    f1, g = X[:, 0], _zdt_g(X)
    zdt2 = np.column_stack([f1, g * (1.0 - (f1 / g) ** 2)])
    h3 = 1.0 - np.sqrt(f1 / g) - (f1 / g) * np.sin(10.0 * np.pi * f1)
    zdt3 = np.column_stack([f1, g * h3])
    np.testing.assert_allclose(BENCHMARKS["zdt2"].with_size(5, 2).evaluate(X), zdt2, rtol=1e-12)
    np.testing.assert_allclose(BENCHMARKS["zdt3"].with_size(5, 2).evaluate(X), zdt3, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", ["zdt1", "zdt2", "zdt3"])
def test_front_is_dense_nondominated_and_reached_by_the_optimal_set(key: str) -> None:
    problem = BENCHMARKS[key].with_size(5, 2)
    front = problem.true_front(5000)
    assert 4500 <= front.shape[0] <= 5500
    assert moocore.is_nondominated(front).all()
    # The optimal set is x_2..x_n = 0 (g = 1): its images lie on the front's curve.
    X = np.zeros((2000, 5))
    X[:, 0] = np.linspace(0.0, 1.0, 2000)
    curve = problem.evaluate(X)
    distance, _ = cKDTree(front).query(curve[moocore.is_nondominated(curve)])
    assert distance.max() < 5e-3  # the sample spacing where ZDT1 and ZDT3 are steep near f1 = 0


@pytest.mark.parametrize("key", ["zdt1", "zdt2", "zdt3"])
def test_front_matches_pymoos_front(key: str) -> None:
    from pymoo.problems import get_problem

    ours = BENCHMARKS[key].with_size(5, 2).true_front()
    theirs = get_problem(key, n_var=5).pareto_front()
    theirs = theirs[moocore.is_nondominated(theirs)]
    distance, _ = cKDTree(ours).query(theirs)
    assert distance.max() < 1e-3  # every pymoo point lies on our front
    # No pymoo point beats one of ours by more than the fine grid's resolution.
    beaten = (theirs[:, None, :] <= ours[None, :, :] - 1e-5).all(axis=2)
    assert not beaten.any()


def test_zdt3_front_has_five_pieces_with_pymoos_ends() -> None:
    front = zdt3_front(5000)
    gaps = np.flatnonzero(np.diff(front[:, 0]) > 0.05)
    starts = np.concatenate([[0], gaps + 1])
    ends = np.concatenate([gaps, [front.shape[0] - 1]])
    assert len(starts) == 5
    np.testing.assert_allclose(front[starts, 0], [a for a, _ in ZDT3_PIECES], atol=1e-4)
    np.testing.assert_allclose(front[ends, 0], [b for _, b in ZDT3_PIECES], atol=1e-4)


def test_running_best_mask_keeps_strict_new_minima() -> None:
    values = np.array([3.0, 2.0, 2.0, 4.0, 1.0, 1.5, 0.5])
    assert running_best_mask(values).tolist() == [True, True, False, False, True, False, True]


def test_spread_over_runs_keeps_both_ends_of_every_run() -> None:
    mask = np.zeros(100, dtype=bool)
    mask[10:40] = True
    mask[60:90] = True
    mask[95] = True
    index = spread_over_runs(mask, 10)
    assert mask[index].all()
    assert {10, 39, 60, 89, 95} <= set(index.tolist())
    assert 9 <= index.size <= 13
