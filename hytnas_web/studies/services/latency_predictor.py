"""How well a study's device measurements predict latency: the per-stage predictor fitted on them.

A study that measures latency per stage on a device (the ``torch`` and ``remote`` evaluators) can
have a latency predictor calibrated on what it measured (``search_engine.evaluators.latency_predictor``:
one regressor per stage on the space's features and closed-form counts). This page-level service fits
it on the study's finished evaluations with a stage latency (those flagged noisy left out),
cross-validates it (R², Kendall tau and the share within ±10 % per stage, with each architecture's
out-of-fold prediction for the chart) and caches the answer by a digest of the measurements and of
the evaluator's settings: a page view never refits, and a new measurement (or a re-measured one)
makes a new fit.

``remeasure_predicted_front`` closes the loop: it fits the predictor (and the study's surrogate on
the measured accuracy), searches against them with the study's solver
(``search_engine.evaluators.predicted_front``) and stores the predicted front's unmeasured
architectures as pending evaluations of the study (``origin = "predictor"``, outside any
iteration), handed to the device like any other: an evaluation job each on the evaluations queue
(``torch``) or claimed by the study's workers (``remote``). Their measurements change the digest,
so the page's fit is refitted with them. Not yet covered: the reconciler re-enqueues lost evaluation
jobs of studies keeping N in flight only, so on a synchronous ``torch`` study a queued architecture
whose job is lost (Redis emptied) waits for the next action; and no iteration triggers the action
by itself (every k iterations).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import transaction

from hytnas_web.studies import charts
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.evaluations import enqueue_evaluation, study_dispatch
from hytnas_web.studies.services.json_values import jsonable
from hytnas_web.studies.services.lifecycle import ActionNotAllowed
from hytnas_web.studies.services.noisy import noisy_evaluation_ids
from hytnas_web.studies.services.versions import bump_version
from search_engine.errors import DataError
from search_engine.evaluators.latency_predictor import LatencyPredictor, inputs_from_points
from search_engine.evaluators.predicted_front import predicted_front
from search_engine.types import STAGES

logger = logging.getLogger(__name__)

PREDICTOR_CACHE_SECONDS = 7 * 24 * 3600
"""How long a fit is kept: it changes only with the measurements, which are part of the key."""

DEVICE_EVALUATORS = ("torch", "remote")
"""Evaluators that measure latency per stage on a device, whose study pages link to this one."""


@dataclass(frozen=True)
class StageRow:
    """One stage's cross-validated fit as the page shows it (None: undefined for constant values)."""

    stage: str
    n_rows: int
    r2: float | None
    kendall_tau: float | None
    within_10_percent: float | None
    rmse: float

    @property
    def within_10_percent_text(self) -> str:
        """The share within ±10 % as the page prints it, e.g. ``82.9 %``."""
        return "–" if self.within_10_percent is None else f"{100 * self.within_10_percent:.1f} %"


@dataclass(frozen=True)
class PredictorPage:
    """Everything the page shows; ``reason`` says why there is no fit (yet)."""

    n_measured: int
    min_rows: int
    predictor: str
    folds: int
    analytic: tuple[str, ...] = ()
    stages: list[StageRow] = field(default_factory=list)
    figure: dict[str, Any] | None = None
    reason: str = ""
    n_noisy: int = 0
    """Measurements flagged noisy (``services.noisy``), left out of the fit until measured again."""


def measures_stage_latency(study: Study) -> bool:
    """True when ``study``'s evaluator measures latency per stage on a device (the page applies)."""
    return str(study.evaluator.get("name")) in DEVICE_EVALUATORS


def study_latency_predictor(study: Study) -> PredictorPage:
    """The latency predictor fitted on ``study``'s measured stage latencies, cross-validated (cached)."""
    measured, n_noisy = _calibration_rows(study)
    rows = [(pk, x, latency) for pk, x, latency, _ in measured]
    predictor = LatencyPredictor(seed=study.seed)
    key = _cache_key(study, rows)
    cached = cache.get(key)
    if isinstance(cached, PredictorPage):
        return cached
    page = _fit(study, rows, predictor, n_noisy)
    cache.set(key, page, PREDICTOR_CACHE_SECONDS)
    return page


def _calibration_rows(study: Study) -> tuple[list[tuple[Any, Any, Any, Any]], int]:
    """``(id, x, stage latency, objectives)`` of the measurements to calibrate on, and how many noisy ones
    were left out (a noisy latency would teach the predictor the machine's load, not the network)."""
    noisy = set(noisy_evaluation_ids(study))
    rows: list[tuple[Any, Any, Any, Any]] = [
        row
        for row in study.evaluations.filter(
            status=Evaluation.Status.DONE, stage_latency__isnull=False, objectives__isnull=False
        )
        .order_by("id")
        .values_list("id", "x", "stage_latency", "objectives")
        if row[0] not in noisy
    ]
    return rows, len(noisy)


def _fit(
    study: Study, rows: list[tuple[int, Any, Any]], predictor: LatencyPredictor, n_noisy: int
) -> PredictorPage:
    def page(**shown: Any) -> PredictorPage:
        return PredictorPage(
            len(rows), predictor.min_rows(), predictor.label, predictor.folds, n_noisy=n_noisy, **shown
        )

    needed = predictor.min_rows()
    if len(rows) < needed:
        return page(
            reason=f"{len(rows)} architecture{'' if len(rows) == 1 else 's'} measured on the device so far; "
            f"the latency predictor needs at least {needed} to fit and cross-validate."
        )
    stages = _stages(rows)
    if not stages:
        return page(reason="No stage has a positive latency in every measurement.")
    config = study_config(study)
    space = config.build_space()
    X = np.array([x for _, x, _ in rows], dtype=np.float64)  # (n, n_vars)
    inputs = inputs_from_points(space, X, config.evaluator.params)
    latency = {s: np.array([float(lat[s]) for _, _, lat in rows]) for s in stages}
    try:
        fits = predictor.cross_validate(inputs, latency)
    except DataError as exc:  # the engine's checks say what is wrong with the measurements
        logger.warning("no latency predictor for study %s: %s", study.pk, exc)
        return page(reason=f"The measurements cannot be fitted: {exc.message}")
    table = [
        StageRow(
            s,
            f.quality.n_rows,
            f.quality.r2,
            f.quality.kendall_tau,
            f.quality.within_10_percent,
            f.quality.rmse,
        )
        for s, f in fits.items()
    ]
    figure = charts.latency_predictor_figure(
        {s: (f.measured.tolist(), f.predicted.tolist()) for s, f in fits.items()}
    )
    return page(analytic=inputs.analytic_names, stages=table, figure=figure)


PREDICTOR_ORIGIN = "predictor"
"""``Evaluation.origin`` of the architectures queued from the predicted front."""


def remeasure_predicted_front(study: Study) -> int:
    """Queue the predicted front's unmeasured architectures for the device; returns how many were queued.

    At most the study's batch size, within what is left of its budget. Raises ActionNotAllowed,
    saying why, when the study is not running (its device measures only then), has no objective to
    maximise (accuracy) to search against beside latency, too few measurements or no budget left.
    """
    if study.status != Study.Status.RUNNING:
        raise ActionNotAllowed(
            "The predicted front is measured by the study's device, which works only while the study runs."
        )
    config = study_config(study)
    accuracy = next((i for i, o in enumerate(config.objectives) if o.direction == "max"), None)
    if accuracy is None:
        raise ActionNotAllowed(
            "The study has no objective to maximise (accuracy) to search for beside latency."
        )
    rows, _ = _calibration_rows(study)
    predictor = LatencyPredictor(seed=config.seed)
    stages = _stages([(pk, x, latency) for pk, x, latency, _ in rows])
    if len(rows) < predictor.min_rows() or not stages:
        raise ActionNotAllowed(
            f"{len(rows)} architectures measured on the device with every stage's latency; "
            f"the latency predictor needs at least {predictor.min_rows()}."
        )
    remaining = config.budget - study.evaluations.count()
    if remaining <= 0:
        raise ActionNotAllowed("The study's budget is spent: no architecture is left to measure.")
    space = config.build_space()
    surrogate = config.build_surrogate()
    front = predicted_front(
        space,
        np.array([x for _, x, _, _ in rows], dtype=np.float64),
        {s: np.array([float(latency[s]) for _, _, latency, _ in rows]) for s in stages},
        np.array([float(values[accuracy]) for _, _, _, values in rows]),
        min(config.batch_size, remaining),
        seed=config.seed + len(rows),  # the same measurements propose the same front
        setting=config.evaluator.params,
        predictor=predictor,
        surrogate=surrogate if surrogate.predicts_values else None,
        solver=config.build_solver(),
    )
    return _store_front(study, space, front.X)


def _store_front(study: Study, space: Any, X: Any) -> int:
    """Pending evaluations for cube points ``X (k, n_vars)``, handed to the device on commit."""
    keys = space.keys(X)
    architectures = space.decode(X)
    dispatch = study_dispatch(study)
    with transaction.atomic():
        version = bump_version(study.pk)
        known = set(study.evaluations.filter(key__in=keys).values_list("key", flat=True))
        new = [
            Evaluation(
                study=study,
                position=i,
                key=key,
                x=X[i].tolist(),
                architecture=jsonable(architectures[i]),
                source=Evaluation.Source.OPTIMIZER,
                origin=PREDICTOR_ORIGIN,
                version=version,
            )
            for i, key in enumerate(keys)
            if key not in known
        ]
        Evaluation.objects.bulk_create(new, ignore_conflicts=True)
        stored = list(
            study.evaluations.filter(key__in=[e.key for e in new], status=Evaluation.Status.PENDING)
        )
        if dispatch == "queue":
            for evaluation in stored:
                enqueue_evaluation(evaluation)
    return len(stored)


def _stages(rows: list[tuple[int, Any, Any]]) -> list[str]:
    """The stages with a positive latency in every measurement, in ``STAGES`` order."""
    return [s for s in STAGES if all(_positive(latency.get(s)) for _, _, latency in rows)]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _cache_key(study: Study, rows: list[tuple[int, Any, Any]]) -> str:
    """A digest of the measurements and of what they were measured with."""
    text = json.dumps(
        {"space": study.space, "evaluator": study.evaluator, "rows": rows},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"latency-predictor:{hashlib.sha256(text.encode()).hexdigest()}"
