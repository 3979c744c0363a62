"""Non-dominated-front (NDF) selection: whole fronts of the predictions, best front first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from search_engine.metrics.pareto import crowding_distance, non_dominated_ranks
from search_engine.selection.base import SelectionInput, Selector
from search_engine.types import Array


@dataclass(frozen=True)
class NDFSelector(Selector):
    """Takes the predicted non-dominated fronts in order while they fit in the batch.

    The first front that does not fit is thinned as NSGA-II does: repeatedly drop the member with
    the smallest crowding distance (recomputed after each drop, so neighbours of a dropped point
    are not dropped too), which keeps the front's extremes and an even spread. Within a front,
    picks are ordered by crowding distance, largest first, then by index. Only the order of
    predictions matters, so rank-based surrogates suit it.
    """

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        mean = np.asarray(candidates.mean, dtype=np.float64)  # (n_candidates, n_objectives)
        ranks = non_dominated_ranks(mean)  # (n_candidates,)
        picks: list[int] = []
        for rank in range(int(ranks.max()) + 1):
            members = np.flatnonzero(ranks == rank)
            room = batch_size - len(picks)
            if room <= 0:
                break
            if members.shape[0] > room:
                members = _thin(mean, members, room)
            distance = crowding_distance(mean[members])
            picks.extend(int(i) for i in members[np.lexsort((members, -distance))])
        return np.array(picks, dtype=np.int64)


def _thin(mean: Array, members: npt.NDArray[np.int64], keep: int) -> npt.NDArray[np.int64]:
    """``keep`` of ``members`` left after dropping the least crowded one at a time."""
    members = members.copy()
    while members.shape[0] > keep:
        distance = crowding_distance(mean[members])  # (n_members,)
        # Smallest distance goes; among equals the highest index goes, so lower indices stay.
        drop = np.lexsort((-members, distance))[0]
        members = np.delete(members, drop)
    return members
