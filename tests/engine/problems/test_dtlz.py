"""DTLZ1-7: function values against hand-written formulas, fronts against their surfaces and pymoo."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest
from scipy.spatial import cKDTree

from search_engine.problems.catalog import BENCHMARKS
from search_engine.problems.dtlz import simplex_lattice

SIZES = [(key, m) for key in ("dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz7") for m in (2, 3, 4, 5)]
SIZES += [(key, m) for key in ("dtlz5", "dtlz6") for m in (2, 3)]


def _dtlz1(X: np.ndarray, m: int) -> np.ndarray:
    """DTLZ1 as Deb et al. write it: f_i = 0.5 (1 + g) prod_{j < m-i} x_j (1 - x_{m-i}) for i > 0."""
    XM = X[:, m - 1 :]
    g = 100.0 * (XM.shape[1] + np.sum((XM - 0.5) ** 2 - np.cos(20.0 * np.pi * (XM - 0.5)), axis=1))
    F = np.empty((X.shape[0], m))
    for i in range(m):
        F[:, i] = 0.5 * (1.0 + g) * np.prod(X[:, : m - 1 - i], axis=1)
        if i > 0:
            F[:, i] *= 1.0 - X[:, m - 1 - i]
    return F


def _dtlz2(X: np.ndarray, m: int) -> np.ndarray:
    """DTLZ2: the same product with cos and sin of x_j pi / 2 and g = sum (x_M - 0.5)^2."""
    g = np.sum((X[:, m - 1 :] - 0.5) ** 2, axis=1)
    angle = X[:, : m - 1] * np.pi / 2.0
    F = np.empty((X.shape[0], m))
    for i in range(m):
        F[:, i] = (1.0 + g) * np.prod(np.cos(angle[:, : m - 1 - i]), axis=1)
        if i > 0:
            F[:, i] *= np.sin(angle[:, m - 1 - i])
    return F


def _dtlz7(X: np.ndarray, m: int) -> np.ndarray:
    """DTLZ7: f_i = x_i for i < m, f_m = (1 + g) (m - sum f_i / (1 + g) (1 + sin(3 pi f_i)))."""
    k = X.shape[1] - m + 1
    g = 1.0 + 9.0 / k * X[:, m - 1 :].sum(axis=1)
    first = X[:, : m - 1]
    h = m - np.sum(first / (1.0 + g)[:, None] * (1.0 + np.sin(3.0 * np.pi * first)), axis=1)
    return np.column_stack([first, (1.0 + g) * h])


def test_dtlz1_at_a_hand_computed_point() -> None:
    # k = 1 and x_2 = 0.5 give g = 100 (1 + 0 - cos 0) = 0, so f = 0.5 (x_1, 1 - x_1).
    F = BENCHMARKS["dtlz1"].with_size(2, 2).evaluate(np.array([[0.25, 0.5]]))
    np.testing.assert_allclose(F, [[0.125, 0.375]])


def test_dtlz2_corners_of_the_sphere() -> None:
    problem = BENCHMARKS["dtlz2"].with_size(6, 3)
    X = np.array(
        [[0.0, 0.0, 0.5, 0.5, 0.5, 0.5], [1.0, 0.0, 0.5, 0.5, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5, 0.5, 0.5]]
    )
    np.testing.assert_allclose(problem.evaluate(X), [[1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=1e-12)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_dtlz1_dtlz2_and_dtlz7_match_hand_written_formulas(rng: np.random.Generator, m: int) -> None:
    X = rng.random((40, m + 4))
    for key, formula in (("dtlz1", _dtlz1), ("dtlz2", _dtlz2), ("dtlz7", _dtlz7)):
        F = BENCHMARKS[key].with_size(m + 4, m).evaluate(X)
        np.testing.assert_allclose(F, formula(X, m), rtol=1e-10, err_msg=key)


@pytest.mark.parametrize(("key", "m"), SIZES)
def test_front_is_nondominated_and_on_its_surface(key: str, m: int) -> None:
    front = BENCHMARKS[key].with_size(m + 2, m).true_front(5000)
    assert front.shape[1] == m
    assert 1500 <= front.shape[0] <= 5100
    assert np.all(front >= -1e-12)
    assert moocore.is_nondominated(front).all()
    if key == "dtlz1":
        np.testing.assert_allclose(front.sum(axis=1), 0.5)
    elif key == "dtlz7":
        first = front[:, :-1]
        expected_last = 2.0 * m - np.sum(first * (1.0 + np.sin(3.0 * np.pi * first)), axis=1)
        np.testing.assert_allclose(front[:, -1], expected_last)
    else:
        np.testing.assert_allclose(np.linalg.norm(front, axis=1), 1.0)


@pytest.mark.parametrize("key", ["dtlz1", "dtlz2", "dtlz3", "dtlz4"])
@pytest.mark.parametrize(("m", "divisions"), [(3, 96), (4, 24), (5, 12)])
def test_pymoos_lattice_front_points_are_points_of_our_front(key: str, m: int, divisions: int) -> None:
    from pymoo.problems import get_problem
    from pymoo.util.ref_dirs import get_reference_directions

    # A lattice of `divisions` (a multiple of 6) contains every point of pymoo's 6-division lattice.
    ours = BENCHMARKS[key].with_size(m + 2, m).true_front(math.comb(divisions + m - 1, m - 1))
    directions = get_reference_directions("das-dennis", m, n_partitions=6)
    theirs = get_problem(key, n_var=m + 2, n_obj=m).pareto_front(directions)
    distance, _ = cKDTree(ours).query(theirs)
    assert distance.max() < 1e-12


@pytest.mark.parametrize("key", ["dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz5", "dtlz6", "dtlz7"])
def test_two_objective_front_matches_pymoos_front(key: str) -> None:
    from pymoo.problems import get_problem

    ours = BENCHMARKS[key].with_size(6, 2).true_front()
    theirs = get_problem(key, n_var=6, n_obj=2).pareto_front()
    # pymoo's DTLZ7 front is a random sample of the surface including dominated points: keep its front.
    theirs = theirs[moocore.is_nondominated(theirs)]
    distance, _ = cKDTree(ours).query(theirs)
    assert distance.max() < 1e-3
    beaten = (theirs[:, None, :] <= ours[None, :, :] - 1e-5).all(axis=2)
    assert not beaten.any()


# (problem, objectives, distance variables' optimal value, epsilon allowed by the front's sample spacing)
OPTIMAL_SETS = [
    ("dtlz1", 3, 0.5, 0.01),  # lattice of 98 divisions on the simplex
    ("dtlz2", 4, 0.5, 0.06),  # lattice of 29 divisions: direction spacing about 0.035
    ("dtlz5", 3, 0.5, 1e-3),  # 5000 points along a curve
    ("dtlz6", 3, 0.0, 1e-3),
    ("dtlz7", 2, 0.0, 1e-3),
    ("dtlz7", 3, 0.0, 0.015),  # about 70 values per axis
    ("dtlz7", 4, 0.0, 0.05),  # about 17 values per axis
]


@pytest.mark.parametrize(("key", "m", "x_distance", "epsilon"), OPTIMAL_SETS)
def test_images_of_the_optimal_set_are_covered_by_the_front_and_never_beat_it(
    rng: np.random.Generator, key: str, m: int, x_distance: float, epsilon: float
) -> None:
    problem = BENCHMARKS[key].with_size(m + 3, m)
    X = np.full((4000, m + 3), x_distance)  # distance variables at g's minimum
    X[:, : m - 1] = rng.random((4000, m - 1))
    sample = problem.evaluate(X)
    sample = sample[moocore.is_nondominated(sample)]
    ours = problem.true_front()
    beaten = np.zeros(ours.shape[0], dtype=bool)
    for chunk in np.array_split(sample, 20):
        beaten |= (chunk[:, None, :] <= ours[None, :, :] - 1e-6).all(axis=2).any(axis=0)
    assert not beaten.any()
    # Our front, shifted by a small epsilon, weakly dominates every sampled optimal image.
    assert moocore.epsilon_additive(ours, ref=sample) < epsilon


def test_simplex_lattice_is_the_largest_das_dennis_lattice_that_fits() -> None:
    W = simplex_lattice(3, 100)  # 12 divisions: C(14, 2) = 91 points; 13 would give 105
    assert W.shape == (91, 3)
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    np.testing.assert_allclose(W * 12, np.round(W * 12), atol=1e-12)
    assert np.unique(np.round(W * 12), axis=0).shape[0] == 91
    assert W.min() == 0.0
