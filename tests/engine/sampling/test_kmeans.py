"""k-means sampler: one pool point per cluster spreads the design more than uniform draws."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from search_engine.sampling.kmeans import KMeansSampler
from search_engine.sampling.uniform import UniformSampler
from search_engine.spaces.generic import GenericSpace

SQUARE = GenericSpace([{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(2)])


def test_kmeans_points_are_further_apart_than_uniform_points_on_average_over_seeds() -> None:
    kmeans, uniform = [], []
    for seed in range(10):
        kmeans.append(pdist(KMeansSampler().sample(SQUARE, 10, np.random.default_rng(seed))).min())
        uniform.append(pdist(UniformSampler().sample(SQUARE, 10, np.random.default_rng(seed))).min())
    assert np.mean(kmeans) > 1.5 * np.mean(uniform)


def test_kmeans_covers_every_quadrant_of_the_square_for_every_seed() -> None:
    # 8 uniform points miss a quadrant about one time in three; one per cluster never does.
    for seed in range(10):
        X = KMeansSampler().sample(SQUARE, 8, np.random.default_rng(seed))
        quadrants = {(int(x >= 0.5), int(y >= 0.5)) for x, y in X}
        assert len(quadrants) == 4, seed
