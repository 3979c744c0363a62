"""The accuracy signals a network evaluator can report, each with its objective and what it really is.

One table, ``ACCURACY_SIGNALS``: the choices of the torch evaluator's ``accuracy`` setting, the
objective each reports (name, direction, unit), the metric that holds its value and a description
that says what the number measures. Nothing else lists them: the setting's choices, its help text,
the evaluator's objectives and the study form's defaults all derive from this table.

Every signal but ``none`` is a *proxy* for accuracy. Two are a network's size read as an accuracy
stand-in (bigger networks tend to be more accurate): ``params`` and ``macs``, from the closed form,
nothing run. Two are training-free scores of the untrained network: ``naswot`` (milliseconds) and
``synflow`` (a float64 forward and backward pass). ``trained`` is a short training run (seconds to
minutes). Whichever is chosen, a study page shows how closely its values rank architectures like
their parameter count, so a proxy that is mostly a size measure says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from search_engine.objectives import Objective


@dataclass(frozen=True)
class AccuracySignal:
    """One choice of accuracy signal.

    Attributes:
        label: its short name, to begin a sentence ("NASWOT", "The parameter count").
        objective: the objective it reports (maximised), or None when there is no accuracy objective.
        metric: the metric of each evaluation holding the same value ("" without an objective).
        description: what the value is, in words, for the setting's help and for pages.
    """

    label: str
    objective: Objective | None
    metric: str
    description: str


ACCURACY_SIGNALS: dict[str, AccuracySignal] = {
    "naswot": AccuracySignal(
        "NASWOT",
        Objective("accuracy_proxy", "max", "score"),
        "accuracy_proxy",
        "NASWOT training-free score (Mellor et al., ICML 2021): log-determinant of the untrained "
        "network's activation-pattern kernel",
    ),
    "synflow": AccuracySignal(
        "SynFlow",
        Objective("synflow", "max", "log10"),
        "synflow",
        "SynFlow training-free score (Tanaka et al. 2020, as a zero-cost proxy in Abdelfattah et al., "
        "ICLR 2021): log10 of the summed |weight x gradient| on an all-ones image, |weights|, no batch "
        "norm",
    ),
    "params": AccuracySignal(
        "The parameter count",
        Objective("params", "max", "parameters"),
        "params_total",
        "the parameter count, maximised as an accuracy stand-in (larger networks tend to be more "
        "accurate); closed form, nothing is run",
    ),
    "macs": AccuracySignal(
        "The multiply-add count",
        Objective("macs", "max", "MACs"),
        "macs_total",
        "the multiply-adds of one image, maximised as an accuracy stand-in; closed form, nothing is run",
    ),
    "trained": AccuracySignal(
        "Short-training accuracy",
        Objective("accuracy", "max", "%"),
        "val_accuracy",
        "validation accuracy (%) after a short training run on a synthetic task, the mean over the "
        "training seeds (seconds to minutes each: raise the time limit)",
    ),
    "none": AccuracySignal(
        "No accuracy objective", None, "", "no accuracy objective: latency is the only one"
    ),
}
"""Accuracy setting -> its signal; the order is the order the study form offers them in."""


def accuracy_help() -> str:
    """The ``accuracy`` setting's help text: every choice and what it measures."""
    return "Accuracy objective: " + "; ".join(
        f"{key}, {signal.description}" for key, signal in ACCURACY_SIGNALS.items()
    )


def signal_of_objective(name: str) -> tuple[str, AccuracySignal] | None:
    """The (setting, signal) whose objective is called ``name``; None for any other objective."""
    for key, signal in ACCURACY_SIGNALS.items():
        if signal.objective is not None and signal.objective.name == name:
            return key, signal
    return None
