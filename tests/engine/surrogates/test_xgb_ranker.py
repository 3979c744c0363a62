"""XGBoost ranker surrogate: relevance labels, score direction (lower = better), seeding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from search_engine.registry import SURROGATES
from search_engine.surrogates.xgb_ranker import XGBRankerSurrogate, relevance
from tests.engine.conftest import zdt1


def test_relevance_gives_the_smallest_value_the_highest_label() -> None:
    y = np.array([3.0, 1.0, 2.0, 1.0])
    assert relevance(y, None).tolist() == [0, 2, 1, 2]  # every distinct value its own grade
    # Average ranks 4, 1.5, 3, 1.5 -> fractions 0.75, 0.125, 0.5, 0.125 -> two equal-count grades.
    assert relevance(y, 2).tolist() == [0, 1, 0, 1]


def test_relevance_grades_are_non_negative_and_bounded() -> None:
    y = np.random.default_rng(0).normal(size=97)
    labels = relevance(y, 10)
    assert labels.min() == 0 and labels.max() == 9
    assert np.all(np.bincount(labels) >= 9)  # roughly equal-count grades
    assert kendalltau(labels, -y)[0] > 0.9


@pytest.mark.parametrize("objective", ["rank:pairwise", "rank:ndcg"])
def test_ranker_scores_are_lower_for_better_points(objective: str) -> None:
    """Objective 0 grows with x0, objective 1 shrinks with it: scores must follow each direction."""
    X = np.random.default_rng(1).random((60, 3))
    Y = np.column_stack([X[:, 0] + 0.1 * X[:, 1], 1.0 - X[:, 0] ** 2])
    ranker = XGBRankerSurrogate(objective=objective)
    ranker.fit(X, Y, np.random.default_rng(2))
    X_new = np.random.default_rng(3).random((200, 3))
    scores, std = ranker.predict(X_new)
    assert scores.shape == (200, 2) and std is None
    truth = np.column_stack([X_new[:, 0] + 0.1 * X_new[:, 1], 1.0 - X_new[:, 0] ** 2])
    for column in range(2):
        assert kendalltau(scores[:, column], truth[:, column])[0] > 0.7


def test_pairwise_ranker_orders_held_out_zdt1_points(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    ranker = SURROGATES.build("xgb-ranker")
    ranker.fit(X, Y, np.random.default_rng(0))
    X_new = np.random.default_rng(7).random((300, X.shape[1]))
    scores, _ = ranker.predict(X_new)
    for column in range(2):
        assert kendalltau(scores[:, column], zdt1(X_new)[:, column])[0] > 0.5


@pytest.mark.parametrize("objective", ["rank:pairwise", "rank:ndcg"])
def test_ranker_same_seed_gives_identical_scores(
    objective: str, zdt1_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, Y = zdt1_data
    runs = []
    for _ in range(2):
        ranker = XGBRankerSurrogate(objective=objective, subsample=0.8)
        ranker.fit(X, Y, np.random.default_rng(4))
        runs.append(ranker.predict(X)[0])
    np.testing.assert_array_equal(runs[0], runs[1])


def test_ranker_constant_objective_predicts_the_constant(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    ranker = XGBRankerSurrogate()
    ranker.fit(X, np.column_stack([np.full(X.shape[0], 7.0), Y[:, 1]]), np.random.default_rng(0))
    scores, _ = ranker.predict(X[:5])
    np.testing.assert_array_equal(scores[:, 0], 7.0)


def test_ranker_declares_scores_not_values() -> None:
    assert XGBRankerSurrogate.capabilities() == {"provides_std": False, "predicts_values": False}
