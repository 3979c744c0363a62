"""MOEA/D-style selection: one candidate per region of objective space, nearest the ideal point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from search_engine.params import param
from search_engine.selection.base import SelectionInput, Selector
from search_engine.surrogates.base import seed_from
from search_engine.types import Array


@dataclass(frozen=True)
class MOEADSelector(Selector):
    """Clusters the candidates' predicted objectives with k-means, then takes the best of each cluster.

    Objectives are scaled to [0, 1] over the candidates, so the ideal point (the best predicted
    value of each objective) is the origin. Each of the ``batch_size`` clusters is a region of
    objective space, as a weight vector is in MOEA/D; its representative is the member closest to
    the ideal point by the chosen scalarisation with equal weights: Chebyshev (largest scaled
    objective) or weighted sum (mean scaled objective). Picks are ordered by that score, best
    first; ties go to the lower index.

    With fewer distinct predicted points than clusters, k-means cannot form ``batch_size``
    clusters: each distinct point then forms its own cluster, and the rest of the batch is filled
    with the best-scoring candidates not yet picked (duplicated predictions).
    """

    n_init: int = param(
        4, "k-means restarts from different seeds (the best clustering is kept).", low=1, high=50
    )
    scalarization: Literal["chebyshev", "weighted_sum"] = param(
        "chebyshev", "How a cluster's best candidate is judged: largest scaled objective, or their mean."
    )

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        mean = np.asarray(candidates.mean, dtype=np.float64)  # (n_candidates, n_objectives)
        low, span = mean.min(axis=0), np.ptp(mean, axis=0)
        span[span <= 0.0] = 1.0
        scaled = (mean - low) / span  # (n_candidates, n_objectives), ideal point at the origin
        chebyshev = self.scalarization == "chebyshev"
        score = scaled.max(axis=1) if chebyshev else scaled.mean(axis=1)  # (n_candidates,)
        labels = self._clusters(scaled, batch_size, rng)  # (n_candidates,)
        by_score = np.lexsort((np.arange(mean.shape[0]), score))  # best first, ties by index
        picks: list[int] = []
        seen_labels: set[int] = set()
        for i in by_score:
            if int(labels[i]) not in seen_labels:
                seen_labels.add(int(labels[i]))
                picks.append(int(i))
        chosen = set(picks)
        picks.extend(int(i) for i in by_score if int(i) not in chosen)
        return np.array(picks[:batch_size], dtype=np.int64)

    def _clusters(self, scaled: Array, n_clusters: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """``(n_candidates,)`` cluster labels, at most ``n_clusters`` distinct."""
        distinct, inverse = np.unique(scaled, axis=0, return_inverse=True)
        if distinct.shape[0] <= n_clusters:
            return np.asarray(inverse, dtype=np.int64).ravel()
        from sklearn.cluster import KMeans

        kmeans = KMeans(n_clusters=n_clusters, n_init=self.n_init, random_state=seed_from(rng))
        return np.asarray(kmeans.fit_predict(scaled), dtype=np.int64)
