"""k-means sampling: cluster a large random pool into n groups and keep one point per group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_engine.params import param
from search_engine.sampling.base import Sampler
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import seed_from
from search_engine.types import Array

N_INIT = 3
"""k-means restarts; fixed so a design depends only on the seed, not on a library default."""


@dataclass(frozen=True)
class KMeansSampler(Sampler):
    """Diverse designs from k-means over a pool of ``pool_factor * n`` distinct random architectures.

    Each returned point is the pool member nearest its cluster's centroid (a real architecture,
    unlike the centroid itself), taken among that cluster's own members so no two clusters
    return the same point. The clusters tile the pool, so the design covers the space more evenly
    than n uniform draws, which tend to leave near-duplicates and gaps.
    """

    pool_factor: int = param(
        20,
        "Pool size as a multiple of the number of points; larger spreads better, costs more.",
        low=2,
        high=200,
    )

    def _sample_cube(self, space: SearchSpace, n: int, rng: np.random.Generator) -> Array:
        from sklearn.cluster import KMeans

        pool = space.sample_unique(self.pool_factor * n, rng)  # (pool, n_vars), canonical, distinct
        if pool.shape[0] <= n:
            return pool
        kmeans = KMeans(n_clusters=n, n_init=N_INIT, random_state=seed_from(rng)).fit(pool)
        chosen = []
        for cluster, centre in enumerate(kmeans.cluster_centers_):
            members = np.flatnonzero(kmeans.labels_ == cluster)
            if members.size == 0:
                continue  # an empty cluster gives nothing; Sampler.sample tops up uniformly
            distances = np.linalg.norm(pool[members] - centre, axis=1)  # (n_members,)
            chosen.append(members[np.argmin(distances)])
        return pool[np.array(chosen, dtype=np.int64)]  # (<= n, n_vars)
