"""XGBoost ranker surrogate: learns the order of the measured points per objective, not their values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from search_engine.params import param
from search_engine.surrogates.base import PerObjectiveSurrogate, seed_from
from search_engine.surrogates.xgb import booster_params, predict_booster
from search_engine.types import Array


def relevance(y: Array, n_levels: int | None) -> npt.NDArray[np.int64]:
    """Non-negative integer relevance labels for an objective ``y (n,)`` that is minimised.

    The smallest value gets the highest label. With ``n_levels`` the order is cut into that many
    equal-count grades (NDCG's gain ``2**label`` needs few, small labels); without, every distinct
    value keeps its own grade so pairwise training sees the full order. Ties share a label.
    """
    labels: npt.NDArray[np.int64]
    if n_levels is None:
        dense = np.asarray(rankdata(y, method="dense"), dtype=np.int64) - 1  # 0 for the best value
        labels = dense.max() - dense
    else:
        average = np.asarray(rankdata(y, method="average"), dtype=np.float64)
        fraction = (average - 1.0) / y.shape[0]  # in [0, 1), 0 for the best
        labels = ((n_levels - 1) - np.floor(fraction * n_levels)).astype(np.int64)
    return labels


@dataclass(eq=False)
class XGBRankerSurrogate(PerObjectiveSurrogate):
    """XGBoost learning-to-rank model per objective; all measured points form one query group.

    ``rank:pairwise`` sees the full order and samples ``pairs_per_point`` pairs per point and round
    (xgboost's ``mean`` pair method), so it learns the whole ranking, not just its head.
    ``rank:ndcg`` sees ``n_levels`` relevance grades and takes every pair of the group into account
    (``topk`` over the whole group), which stresses the best points; it is quadratic in the
    points, about a second for 1000.

    The ranker scores more relevant (better) points higher; ``predict`` returns the negated score
    so that, like every surrogate, lower means better. Scores are not in the objective's units.
    """

    provides_std = False
    predicts_values = False

    objective: Literal["rank:pairwise", "rank:ndcg"] = param(
        "rank:pairwise", "rank:pairwise learns the whole order; rank:ndcg focuses on the best points."
    )
    n_estimators: int = param(100, "Number of boosting rounds (trees).", low=1, high=5000)
    max_depth: int = param(6, "Maximum depth of each tree.", low=1, high=16)
    learning_rate: float = param(0.3, "Shrinkage applied to each new tree.", low=1e-4, high=1.0)
    subsample: float = param(1.0, "Fraction of points each tree is grown on.", low=0.1, high=1.0)
    pairs_per_point: int = param(8, "Pairs sampled per point and round (rank:pairwise).", low=1, high=64)
    n_levels: int = param(10, "Relevance grades the objective is cut into (rank:ndcg).", low=2, high=31)
    n_jobs: int = param(1, "Threads xgboost may use (more helps only on idle cores).", low=1, high=256)

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> Any:
        import xgboost

        params = booster_params(
            "gbtree", self.max_depth, self.learning_rate, self.subsample, 0.0, self.n_jobs
        )
        params.update(objective=self.objective, seed=seed_from(rng))
        if self.objective == "rank:ndcg":
            labels = relevance(y, self.n_levels)
            params.update(lambdarank_pair_method="topk", lambdarank_num_pair_per_sample=X.shape[0])
        else:
            labels = relevance(y, None)
            params.update(lambdarank_pair_method="mean", lambdarank_num_pair_per_sample=self.pairs_per_point)
        data = xgboost.DMatrix(X, label=labels, nthread=self.n_jobs)
        data.set_group([X.shape[0]])
        return xgboost.train(params, data, num_boost_round=self.n_estimators)

    def _predict_one(self, model: Any, X: Array) -> tuple[Array, None]:
        return -predict_booster(model, X), None
