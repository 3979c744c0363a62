"""MOEA/D-style selection: k-means clusters of predicted objectives, the best of each cluster."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.registry import SELECTORS
from search_engine.selection.moead import MOEADSelector
from tests.engine.selection.inputs import predictions_only


def _three_blobs() -> tuple[np.ndarray, list[int]]:
    """15 points in three tight blobs and the index of each blob's point nearest the ideal (0, 0)."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 10.0], [5.0, 5.0], [10.0, 0.0]])
    mean = np.vstack([centre + rng.uniform(0.0, 0.5, size=(5, 2)) for centre in centres])
    scaled = (mean - mean.min(axis=0)) / np.ptp(mean, axis=0)
    best = [int(5 * b + np.argmin(scaled[5 * b : 5 * b + 5].max(axis=1))) for b in range(3)]
    return mean, best


def test_moead_is_built_from_the_registry_with_its_parameters() -> None:
    selector = SELECTORS.build("moead", {"n_init": 2, "scalarization": "weighted_sum"})
    assert isinstance(selector, MOEADSelector)
    assert selector.n_init == 2 and selector.scalarization == "weighted_sum"
    with pytest.raises(ConfigError):
        SELECTORS.build("moead", {"n_init": 0})


def test_moead_takes_one_candidate_from_each_cluster_the_one_nearest_the_ideal() -> None:
    mean, best = _three_blobs()
    picks = MOEADSelector().select(predictions_only(mean), 3, np.random.default_rng(0))
    assert sorted(picks.tolist()) == sorted(best)


def test_moead_orders_cluster_representatives_by_their_score() -> None:
    mean, _ = _three_blobs()
    picks = MOEADSelector().select(predictions_only(mean), 3, np.random.default_rng(0))
    scaled = (mean - mean.min(axis=0)) / np.ptp(mean, axis=0)
    scores = scaled[picks].max(axis=1)
    assert np.all(np.diff(scores) >= 0)


def test_moead_weighted_sum_judges_by_the_mean_scaled_objective() -> None:
    # Already scaled to [0, 1]. One cluster (a single batch slot): (0.45, 0.45) wins on Chebyshev
    # (0.45 < 0.8), (0, 0.8) on the weighted sum (0.4 < 0.45).
    mean = np.array([[0.45, 0.45], [0.0, 0.8], [1.0, 0.0], [1.0, 1.0]])
    chebyshev = MOEADSelector().select(predictions_only(mean), 1, np.random.default_rng(0))
    weighted = MOEADSelector(scalarization="weighted_sum").select(
        predictions_only(mean), 1, np.random.default_rng(0)
    )
    assert chebyshev.tolist() == [0] and weighted.tolist() == [1]


def test_moead_falls_back_when_there_are_fewer_distinct_points_than_clusters() -> None:
    mean = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.5, 0.5]])
    picks = MOEADSelector().select(predictions_only(mean), 5, np.random.default_rng(0))
    assert sorted(picks.tolist()) == [0, 1, 2, 3, 4]
    # The three distinct points are picked first, one representative each.
    assert {tuple(mean[i]) for i in picks[:3]} == {(0.0, 1.0), (1.0, 0.0), (0.5, 0.5)}


def test_moead_is_deterministic_given_the_seed() -> None:
    mean = np.random.default_rng(6).random((40, 2))
    first = MOEADSelector().select(predictions_only(mean), 8, np.random.default_rng(3))
    second = MOEADSelector().select(predictions_only(mean), 8, np.random.default_rng(3))
    assert first.tolist() == second.tolist()
    assert np.unique(first).shape == (8,)


def test_moead_spreads_picks_across_objective_space() -> None:
    f1 = np.random.default_rng(7).random(60)
    mean = np.column_stack([f1, 1.0 - f1])  # one front: every point is best somewhere
    picks = MOEADSelector().select(predictions_only(mean), 6, np.random.default_rng(0))
    covered = np.sort(f1[picks])
    assert np.max(np.diff(np.concatenate([[0.0], covered, [1.0]]))) < 0.4
