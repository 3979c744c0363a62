"""What drives each objective: the study's surrogate fitted on its measurements, asked why (see
``search_engine.metrics.importance`` for the measure and why it was chosen).

Fitting takes a second or two, so each web process keeps the fitted surrogates of the last few
(study, measurements) pairs: changing the slice's variable or the contour's pair re-asks the same
fit, and a new measurement makes a new one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Max

from hytnas_web.studies import charts
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.browse import study_objectives
from hytnas_web.studies.services.configs import study_config
from search_engine.metrics.importance import MIN_MEASURED, Drivers, ObjectiveImportance
from search_engine.objectives import Objective
from search_engine.registry import SURROGATES

KEPT_FITS = 4
"""Fitted surrogates one web process keeps (the newest (study, measurements) pairs asked for)."""

MEASURE = (
    "Each bar is the share of the surrogate's predicted spread that the variable explains on its own "
    "(functional ANOVA main effect: the variance of the prediction averaged over every other variable); "
    "what no single variable explains is left to interactions. It describes the surrogate, so it is "
    "only as good as the surrogate's fit."
)

_fits: OrderedDict[tuple[int, int, int], Drivers] = OrderedDict()
_fits_lock = threading.Lock()


@dataclass
class DriversPage:
    """Everything the page shows; ``reason`` says why there is nothing yet."""

    study: Study
    objectives: list[Objective]
    variables: list[str]
    n_measured: int
    reason: str = ""
    surrogate: str = ""
    importance: list[ObjectiveImportance] = field(default_factory=list)
    objective: str = ""
    variable: str = ""
    x_variable: str = ""
    y_variable: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    measure: str = MEASURE


def study_drivers(
    study: Study, objective: str = "", variable: str = "", x_variable: str = "", y_variable: str = ""
) -> DriversPage:
    """The page for ``study``; a choice it does not know (a stale link) falls back to the default."""
    config = study_config(study)
    space = config.build_space()
    objectives = study_objectives(study)
    rows = list(
        study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id").values_list("x", "objectives")
    )
    page = DriversPage(study, objectives, list(space.names), n_measured=len(rows))
    if len(rows) < MIN_MEASURED:
        page.reason = (
            f"{len(rows)} architecture{'s' if len(rows) != 1 else ''} measured so far; what drives each "
            f"objective is estimated from {MIN_MEASURED} or more."
        )
        return page
    surrogate = config.build_surrogate()
    page.surrogate = config.surrogate.name
    if not surrogate.predicts_values:  # a ranking surrogate's scores are not in the objectives' units
        surrogate = SURROGATES.build("xgboost", {}, "surrogate")
        page.surrogate = f"xgboost (the study's {config.surrogate.name} ranks rather than predicts values)"
    names = [o.name for o in objectives]
    drivers = _fitted(study, rows, lambda: _fit(space, surrogate, rows, names, config.seed))
    page.importance = drivers.importance()
    page.objective = objective if objective in names else names[0]
    ranked = next(i for i in page.importance if i.objective == page.objective).variables
    page.variable = variable if variable in space.names else ranked[0]
    page.x_variable = x_variable if x_variable in space.names else ranked[0]
    page.y_variable = (
        y_variable
        if y_variable in space.names and y_variable != page.x_variable
        else next(v for v in ranked if v != page.x_variable)
    )
    unit = next(o for o in objectives if o.name == page.objective)
    page.figures = {
        "importance": charts.importance_figure(page.importance),
        "stages": charts.stage_importance_figure(page.importance),
        "slice": charts.slice_figure(drivers.slice(page.objective, page.variable), unit),
        "contour": charts.contour_figure(
            drivers.contour(page.objective, page.x_variable, page.y_variable), unit
        ),
    }
    return page


def _fit(space: Any, surrogate: Any, rows: list[Any], names: list[str], seed: int) -> Drivers:
    X = np.array([r[0] for r in rows], dtype=np.float64)
    Y = np.array([r[1] for r in rows], dtype=np.float64).reshape(len(rows), len(names))
    return Drivers(space, surrogate, X, Y, names, seed)


def _fitted(study: Study, rows: list[Any], fit: Any) -> Drivers:
    """The fit for the study's current measurements, made once per web process."""
    last = study.evaluations.aggregate(last=Max("finished_at"))["last"]
    key = (study.pk, len(rows), int(last.timestamp() * 1e6) if last is not None else 0)
    with _fits_lock:
        if key in _fits:
            _fits.move_to_end(key)
            return _fits[key]
    drivers: Drivers = fit()
    with _fits_lock:
        _fits[key] = drivers
        while len(_fits) > KEPT_FITS:
            _fits.popitem(last=False)
    return drivers
