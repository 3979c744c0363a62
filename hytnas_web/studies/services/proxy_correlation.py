"""How much of a study's accuracy signal is network size, in numbers and in a plain sentence.

A study measured by a network evaluator (``torch``, ``remote``) maximises an accuracy *signal*: a
training-free score, a size, or a short training run (``search_engine.evaluators.accuracy_signals``).
Each is a stand-in for accuracy, and each tends to grow with the network. The dashboard and the
architecture page show, beside the signal, its Spearman rank correlation with the parameter count
over the study's measured architectures (``params_total``, which every such evaluation records), and
say in words what it means: a signal that ranks architectures like their size is mostly a size
measure. For short training over several seeds, the typical spread between seeds is shown too.
Computed on each page view from the done evaluations' stored values (no cache: one query, one
rank correlation).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np

from hytnas_web.studies.models import Evaluation, Study
from search_engine.errors import ConfigError
from search_engine.evaluators.accuracy_signals import ACCURACY_SIGNALS, AccuracySignal
from search_engine.finite_numbers import finite_or_none
from search_engine.metrics.size_correlation import MIN_POINTS, size_correlation

PARAMS_METRIC = "params_total"
"""The metric holding an evaluation's parameter count (the whole network's, closed form)."""

MOSTLY_SIZE = 0.9
"""|rho| from which a signal is said to be mostly a size measure."""
PARTLY_SIZE = 0.5
"""|rho| from which size is said to explain part of a signal's ranking."""


@dataclass(frozen=True)
class ProxyCorrelation:
    """A study's accuracy signal against the parameter count, as pages show it.

    Attributes:
        setting: the evaluator's ``accuracy`` choice (``naswot``, ``synflow``, ...).
        objective: the objective's name (``accuracy_proxy``).
        label: the signal's short name (``NASWOT``).
        n: measured architectures with both values.
        spearman_rho: Spearman's rho with the parameter count; None while undefined.
        sentence: what the figure means, in words.
        seed_spread: for short training over several seeds, the median over architectures of the
            standard deviation between seeds (percentage points); else None.
    """

    setting: str
    objective: str
    label: str
    n: int
    spearman_rho: float | None
    sentence: str
    seed_spread: float | None = None


def study_correlation(study: Study) -> ProxyCorrelation | None:
    """The study's accuracy signal against the parameter count; None without an accuracy signal."""
    found = _signal(study.evaluator)
    if found is None:
        return None
    setting, signal = found
    assert signal.objective is not None
    names = [o.get("name") for o in study.objectives if isinstance(o, dict)]
    if signal.objective.name not in names:
        return None  # objectives stored otherwise (a study made outside the form)
    column = names.index(signal.objective.name)
    rows = study.evaluations.filter(status=Evaluation.Status.DONE).values_list("objectives", "metrics")
    values, params, spreads = [], [], []
    for objectives, metrics in rows:
        metrics = metrics if isinstance(metrics, dict) else {}
        value = objectives[column] if isinstance(objectives, list) and column < len(objectives) else None
        values.append(_number(value))
        params.append(_number(metrics.get(PARAMS_METRIC)))
        spread = finite_or_none(metrics.get("val_accuracy_std"))
        if spread is not None:
            spreads.append(spread)
    correlation = size_correlation(np.array(values), np.array(params))
    return ProxyCorrelation(
        setting=setting,
        objective=signal.objective.name,
        label=signal.label,
        n=correlation.n,
        spearman_rho=correlation.spearman_rho,
        sentence=sentence(setting, signal, correlation.n, correlation.spearman_rho),
        seed_spread=statistics.median(spreads) if spreads else None,
    )


def sentence(setting: str, signal: AccuracySignal, n: int, rho: float | None) -> str:
    """What ``rho`` over ``n`` architectures says about ``signal``, in one or two plain sentences."""
    if rho is None:
        if n < MIN_POINTS:
            return (
                f"{signal.label} will be compared with the parameter count once {MIN_POINTS} "
                f"architectures are measured ({n} so far)."
            )
        return f"{signal.label} or the parameter count is the same for every measured architecture."
    figure = f"{rho:.2f}"
    over = f"over {n} measured architectures"
    if setting == "params":
        return f"The accuracy objective is the parameter count itself (Spearman {figure} {over})."
    if rho >= MOSTLY_SIZE:
        return (
            f"{signal.label} ranks architectures {figure} like their parameter count ({over}): it is "
            "mostly a size measure."
        )
    if rho >= PARTLY_SIZE:
        return (
            f"{signal.label} ranks architectures {figure} like their parameter count ({over}): size "
            "explains part of its ranking, not all of it."
        )
    if rho > -PARTLY_SIZE:
        return (
            f"{signal.label} ranks architectures only {figure} like their parameter count ({over}): "
            "it measures something other than size."
        )
    return (
        f"{signal.label} ranks architectures {figure} like their parameter count ({over}): smaller "
        "networks score higher."
    )


def _signal(evaluator: Any) -> tuple[str, AccuracySignal] | None:
    """The (setting, signal) of a network evaluator ``{name, params}`` with an accuracy objective."""
    from search_engine.registry import EVALUATORS

    if not isinstance(evaluator, dict):
        return None
    try:
        schema = {p.name: p for p in EVALUATORS.params(str(evaluator.get("name")))}
    except ConfigError:
        return None  # an evaluator this installation does not know
    if "accuracy" not in schema:
        return None
    params = evaluator.get("params")
    params = params if isinstance(params, dict) else {}
    setting = params.get("accuracy", schema["accuracy"].default)
    signal = ACCURACY_SIGNALS.get(setting) if isinstance(setting, str) else None
    if signal is None or signal.objective is None:
        return None
    return setting, signal


def _number(value: Any) -> float:
    """A stored value as a float, NaN when missing or not a finite number."""
    number = finite_or_none(value)
    return float("nan") if number is None else number
