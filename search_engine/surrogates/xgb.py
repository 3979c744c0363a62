"""XGBoost regressor surrogate: one gradient-boosted model per objective, point predictions only."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from search_engine.params import Param
from search_engine.surrogates.base import PerObjectiveSurrogate, seed_from
from search_engine.types import Array

BOOSTERS = ("gbtree", "dart", "gblinear")


def booster_params(
    booster: str, max_depth: int, learning_rate: float, subsample: float, rate_drop: float, n_jobs: int
) -> dict[str, Any]:
    """Training parameters for ``xgboost.train`` that a booster actually reads.

    Tree settings are left out for ``gblinear`` (xgboost warns about unused ones), and the linear
    booster uses coordinate descent: its default ``shotgun`` updater is parallel and not
    reproducible from run to run.
    """
    params: dict[str, Any] = {"booster": booster, "eta": learning_rate, "nthread": n_jobs}
    if booster == "gblinear":
        params["updater"] = "coord_descent"
    else:
        params.update(max_depth=max_depth, subsample=subsample, tree_method="hist")
    if booster == "dart":
        params["rate_drop"] = rate_drop
    return params


def predict_booster(model: Any, X: Array) -> Array:
    """``(n,)`` raw predictions of a trained ``xgboost.Booster``.

    ``inplace_predict`` skips building a DMatrix (the solver calls predict thousands of times) but
    the linear booster does not support it.
    """
    import xgboost

    try:
        return np.asarray(model.inplace_predict(X), dtype=np.float64)
    except xgboost.core.XGBoostError:
        return np.asarray(model.predict(xgboost.DMatrix(X)), dtype=np.float64)


class XGBSurrogate(PerObjectiveSurrogate):
    """XGBoost regressor per objective (squared error), the preset's surrogate.

    Defaults are xgboost's own (100 trees of depth 6, learning rate 0.3): fast to fit on a few
    hundred points and robust on the mixed discrete variables of architecture spaces. No
    predictive std, so it pairs with the identity acquisition.
    """

    provides_std = False
    predicts_values = True

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param("n_estimators", "int", 100, "Number of boosting rounds (trees).", low=1, high=5000),
        Param("max_depth", "int", 6, "Maximum depth of each tree.", low=1, high=16),
        Param("learning_rate", "float", 0.3, "Shrinkage applied to each new tree.", low=1e-4, high=1.0),
        Param("subsample", "float", 1.0, "Fraction of points each tree is grown on.", low=0.1, high=1.0),
        Param(
            "booster",
            "choice",
            "gbtree",
            "gbtree: trees; dart: trees with dropout; gblinear: a linear model.",
            choices=BOOSTERS,
        ),
        Param(
            "rate_drop", "float", 0.1, "Fraction of trees dropped per round (dart only).", low=0.0, high=1.0
        ),
        # One thread by default: on a machine where other workers already use every core, OpenMP
        # threads that spin-wait for each other made a 0.05 s fit take 20 s; one thread costs ~1.5x.
        Param(
            "n_jobs", "int", 1, "Threads xgboost may use (more helps only on idle cores).", low=1, high=256
        ),
    )

    def __init__(
        self,
        n_estimators: int = 100,
        max_depth: int = 6,
        learning_rate: float = 0.3,
        subsample: float = 1.0,
        booster: str = "gbtree",
        rate_drop: float = 0.1,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.params = booster_params(booster, max_depth, learning_rate, subsample, rate_drop, n_jobs)
        self.params["objective"] = "reg:squarederror"

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> Any:
        import xgboost

        data = xgboost.DMatrix(X, label=y, nthread=self.params["nthread"])
        params = {**self.params, "seed": seed_from(rng)}
        return xgboost.train(params, data, num_boost_round=self.n_estimators)

    def _predict_one(self, model: Any, X: Array) -> tuple[Array, None]:
        return predict_booster(model, X), None
