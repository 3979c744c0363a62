"""How well a table study's measured tables predict: the table evaluator's cross-validated fit per objective.

A table study's objectives are predictions of regressors fitted on the user's tables, so the search is
only as good as those fits. ``TableEvaluator.fit_report`` measures them by K-fold cross-validation
(R², RMSE, Kendall tau of out-of-fold predictions against the measurements), which refits K regressors
per objective: about a second on the HyT-NAS tables. The answer depends on the evaluator's
configuration alone, so it is cached by a digest of that configuration (tables' text included) for
``FIT_CACHE_SECONDS``: a page view, or a study form shown again with the same tables, never refits.
A table given by ``path`` (a configuration made outside the form) is cached by its path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from hytnas_web.studies.formatting import number
from hytnas_web.studies.models import Study
from search_engine.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

FIT_CACHE_SECONDS = 30 * 24 * 3600
"""How long a fit report is kept: it changes only with the configuration, which is part of the key."""


@dataclass(frozen=True)
class ObjectiveFit:
    """One objective's cross-validated fit as pages show it (``r2``, ``kendall_tau``: None if undefined).

    ``within_10_percent``: the share of rows predicted within ±10 % of their measurement.
    """

    objective: str
    unit: str
    model: str
    n_rows: int
    folds: int
    r2: float | None
    rmse: float
    kendall_tau: float | None
    within_10_percent: float | None = None
    measured_low: float | None = None
    measured_high: float | None = None
    """The lowest and highest measurement in the tables (None in reports cached before they were kept)."""

    @property
    def within_10_percent_text(self) -> str:
        """The share within ±10 % as a page prints it, e.g. ``82.9 %`` (a dash when unknown)."""
        return "–" if self.within_10_percent is None else f"{100 * self.within_10_percent:.1f} %"


def study_fit(study: Study) -> list[ObjectiveFit] | None:
    """The fit of a table study's predictors, per objective; None for any other evaluator."""
    return evaluator_fit(study.evaluator)


def evaluator_fit(evaluator: Mapping[str, Any]) -> list[ObjectiveFit] | None:
    """The fit per objective of the table evaluator ``{name, params}`` (cached); None for other evaluators.

    A configuration whose tables cannot be read any more (a ``path`` gone) is None too, and logged.
    """
    if evaluator.get("name") != "table":
        return None
    key = _cache_key(evaluator)
    cached = cache.get(key)
    if isinstance(cached, list):
        return cached
    try:
        fits = _fit(dict(evaluator.get("params") or {}))
    except (ConfigError, DataError) as exc:
        logger.warning("no fit report for a table evaluator: %s", exc)
        return None
    cache.set(key, fits, FIT_CACHE_SECONDS)
    return fits


def _fit(params: dict[str, Any]) -> list[ObjectiveFit]:
    from search_engine.evaluators.table import TableEvaluator
    from search_engine.registry import EVALUATORS

    built = EVALUATORS.build("table", params, "evaluator")
    assert isinstance(built, TableEvaluator)
    report = built.fit_report()
    return [
        ObjectiveFit(
            objective=o.name,
            unit=o.unit,
            model=report[o.name].model,
            n_rows=report[o.name].n_rows,
            folds=report[o.name].folds,
            r2=report[o.name].r2,
            rmse=report[o.name].rmse,
            kendall_tau=report[o.name].kendall_tau,
            within_10_percent=report[o.name].within_10_percent,
            measured_low=built.measured_range(o.name)[0],
            measured_high=built.measured_range(o.name)[1],
        )
        for o in built.objectives
    ]


def beyond_the_tables(study: Study, fits: list[ObjectiveFit] | None) -> list[str]:
    """One sentence per objective whose best value found lies past the best the tables measured.

    A table study's values are its regressors' predictions, so a "best" beyond every measurement is
    the regressor extrapolating (the HyT-NAS linear booster predicts 89 % accuracy where the best
    measured is 84.6 %): the page says so instead of letting it read as a discovery.
    """
    if not fits:
        return []
    directions = {o["name"]: o.get("direction", "min") for o in study.objectives}
    names = [o["name"] for o in study.objectives]
    rows = [
        values
        for values in study.evaluations.filter(status="done").values_list("objectives", flat=True)
        if isinstance(values, list) and len(values) == len(names)
    ]
    sentences = []
    for fit in fits:
        if fit.objective not in names or fit.measured_low is None or fit.measured_high is None or not rows:
            continue
        column = [float(row[names.index(fit.objective)]) for row in rows]
        maximise = directions.get(fit.objective) == "max"
        best = max(column) if maximise else min(column)
        limit = fit.measured_high if maximise else fit.measured_low
        if (best > limit) if maximise else (best < limit):
            unit = f" {fit.unit}" if fit.unit else ""
            beyond = sum((v > limit) if maximise else (v < limit) for v in column)
            verb = "does" if beyond == 1 else "do"
            sentences.append(
                f"The best {fit.objective} found, {number(best)}{unit}, lies beyond the best in the tables "
                f"({number(limit)}{unit}), as {verb} {beyond} of the {len(column)} architectures found. "
                f"There the {fit.model} regressor extrapolates past every measurement: measure them "
                "before trusting those values."
            )
    return sentences


def _cache_key(evaluator: Mapping[str, Any]) -> str:
    text = json.dumps(evaluator, sort_keys=True, separators=(",", ":"), default=str)
    return f"table-fit-3:{hashlib.sha256(text.encode()).hexdigest()}"
