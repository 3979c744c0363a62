"""Random selection: distinct uniform picks, reproducible from the generator."""

from __future__ import annotations

import numpy as np

from search_engine.registry import SELECTORS
from search_engine.selection.base import SelectionInput
from search_engine.selection.random_batch import RandomSelector


def _input(n: int) -> SelectionInput:
    return SelectionInput(
        X=np.zeros((n, 2)), mean=np.zeros((n, 2)), std=None, Y_measured=np.empty((0, 2)), ref_point=np.ones(2)
    )


def test_random_is_built_from_the_registry_and_needs_nothing() -> None:
    selector = SELECTORS.build("random")
    assert isinstance(selector, RandomSelector)
    assert selector.capabilities() == {"needs_values": False, "needs_std": False}


def test_random_returns_exactly_the_batch_size_of_distinct_candidates() -> None:
    picks = RandomSelector().select(_input(30), 12, np.random.default_rng(0))
    assert picks.shape == (12,) and np.unique(picks).shape == (12,)
    assert picks.min() >= 0 and picks.max() < 30


def test_random_is_reproducible_from_the_seed_and_varies_across_seeds() -> None:
    first = RandomSelector().select(_input(50), 10, np.random.default_rng(7))
    again = RandomSelector().select(_input(50), 10, np.random.default_rng(7))
    other = RandomSelector().select(_input(50), 10, np.random.default_rng(8))
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_random_takes_every_candidate_when_the_batch_is_larger() -> None:
    picks = RandomSelector().select(_input(4), 10, np.random.default_rng(0))
    assert sorted(picks.tolist()) == [0, 1, 2, 3]
