"""XGBoost regressor surrogate: one gradient-boosted model per objective, point predictions only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from search_engine.params import param
from search_engine.surrogates.base import PerObjectiveSurrogate, seed_from
from search_engine.types import Array


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


@dataclass(eq=False)
class XGBSurrogate(PerObjectiveSurrogate):
    """XGBoost regressor per objective (squared error), the preset's surrogate.

    Defaults are xgboost's own (100 trees of depth 6, learning rate 0.3): fast to fit on a few
    hundred points and robust on the mixed discrete variables of architecture spaces. No
    predictive std, so it pairs with the identity acquisition.
    """

    provides_std = False
    predicts_values = True

    n_estimators: int = param(100, "Number of boosting rounds (trees).", low=1, high=5000)
    max_depth: int = param(6, "Maximum depth of each tree.", low=1, high=16)
    learning_rate: float = param(0.3, "Shrinkage applied to each new tree.", low=1e-4, high=1.0)
    subsample: float = param(1.0, "Fraction of points each tree is grown on.", low=0.1, high=1.0)
    booster: Literal["gbtree", "dart", "gblinear"] = param(
        "gbtree", "gbtree: trees; dart: trees with dropout; gblinear: a linear model."
    )
    rate_drop: float = param(0.1, "Fraction of trees dropped per round (dart only).", low=0.0, high=1.0)
    # One thread by default: on a machine where other workers already use every core, OpenMP
    # threads that spin-wait for each other made a 0.05 s fit take 20 s; one thread costs ~1.5x.
    n_jobs: int = param(1, "Threads xgboost may use (more helps only on idle cores).", low=1, high=256)

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> Any:
        import xgboost

        params = booster_params(
            self.booster, self.max_depth, self.learning_rate, self.subsample, self.rate_drop, self.n_jobs
        )
        params.update(objective="reg:squarederror", seed=seed_from(rng))
        data = xgboost.DMatrix(X, label=y, nthread=self.n_jobs)
        return xgboost.train(params, data, num_boost_round=self.n_estimators)

    def _predict_one(self, model: Any, X: Array) -> tuple[Array, None]:
        return predict_booster(model, X), None
