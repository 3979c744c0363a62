"""What the ``auto`` optimizer chose for a study, and why, as the study page shows it.

The engine records each auto proposal's choice in the proposal's diagnostics (``"auto"``: the parts,
the reasons and how many architectures each part proposed), which the iteration keeps. The page
shows the latest iteration's; before the first proposal it shows what ``auto.choose`` would pick
from the measurements so far, so a new study already says what it will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.configs import study_config
from search_engine import auto


@dataclass(frozen=True)
class AutoPart:
    """One part of a batch: who proposed how many architectures, with which components."""

    label: str
    size: int
    proposed: int | None  # None: not proposed yet (the choice the next proposal would make)
    surrogate: str
    acquisition: str
    solver: str


@dataclass(frozen=True)
class AutoChoice:
    """The choice of one proposal: ``iteration`` is its index, or None for the next proposal's."""

    iteration: int | None
    parts: list[AutoPart]
    reasons: list[str]


def study_auto_choice(study: Study) -> AutoChoice | None:
    """The latest auto choice of ``study`` (None unless the study lets auto choose its components)."""
    if not study.config.get("auto"):
        return None
    latest = Iteration.objects.filter(study=study, diagnostics__has_key="auto").order_by("-index").first()
    if latest is not None:
        recorded = latest.diagnostics["auto"]
        if isinstance(recorded, dict):
            return _recorded(latest.index, recorded)
    config = study_config(study)
    n_measured = study.evaluations.filter(status=Evaluation.Status.DONE).count()
    choice = auto.choose(config, config.build_space(), n_measured, config.batch_size)
    return AutoChoice(None, [_part(p.to_dict(), None) for p in choice.parts], list(choice.reasons))


def _recorded(index: int, recorded: dict[str, Any]) -> AutoChoice:
    """The choice as an iteration's diagnostics hold it (``Choice.to_dict()`` plus ``proposed``)."""
    parts = [p for p in recorded.get("parts") or [] if isinstance(p, dict)]
    proposed = list(recorded.get("proposed") or [])
    counts = proposed if len(proposed) == len(parts) else [None] * len(parts)
    return AutoChoice(
        index,
        [_part(part, count) for part, count in zip(parts, counts, strict=True)],
        [str(reason) for reason in recorded.get("reasons") or []],
    )


def _part(part: dict[str, Any], proposed: int | None) -> AutoPart:
    components = part.get("components") or {}

    def name(kind: str) -> str:
        spec = components.get(kind) or {}
        return str(spec.get("name", "")) if isinstance(spec, dict) else ""

    return AutoPart(
        label=str(part.get("label", "")),
        size=int(part.get("size", 0)),
        proposed=None if proposed is None else int(proposed),
        surrogate=name("surrogate"),
        acquisition=name("acquisition"),
        solver=name("solver"),
    )
