"""Non-dominated-sum (NDS) selection: candidates good in every objective at once, by rank sum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from search_engine.selection.base import SelectionInput, Selector


@dataclass(frozen=True)
class NDSSelector(Selector):
    """Ranks the candidates per objective (1 = best predicted), sums the ranks, lowest sums first.

    Only the order of predictions matters, so rank-based surrogates suit it. Equal predictions
    share their average rank. Equal sums go to the candidate whose worst rank is better (balanced
    before lopsided), then to the lower index.
    """

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        mean = np.asarray(candidates.mean, dtype=np.float64)  # (n_candidates, n_objectives)
        ranks = rankdata(mean, method="average", axis=0)  # (n_candidates, n_objectives)
        total = ranks.sum(axis=1)  # (n_candidates,)
        worst = ranks.max(axis=1)  # (n_candidates,)
        order = np.lexsort((np.arange(mean.shape[0]), worst, total))
        return order[:batch_size].astype(np.int64)
