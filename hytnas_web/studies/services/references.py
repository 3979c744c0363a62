"""The reference architectures a study measures (MobileViT-XXS, XS and S), found among its evaluations.

The engine declares them and puts them in the initial design (``search_engine.references``); this
module finds the measured ones by their key, for the Pareto chart's labelled markers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.configs import study_config
from search_engine.errors import ConfigError
from search_engine.references import study_references


class ReferenceMarker(NamedTuple):
    """One measured reference architecture: its evaluation, its name and its measured objectives."""

    id: int
    name: str
    objectives: tuple[float, ...]


def reference_markers(study: Study) -> list[ReferenceMarker]:
    """The study's measured references in the order the evaluator declares them (none for most studies)."""
    try:
        config = study_config(study)
        references = study_references(config)
    except (ConfigError, KeyError, TypeError, ValueError):
        return []  # an evaluator no longer registered: no references to show
    if not references:
        return []
    space = config.build_space()
    keys = space.keys(space.encode(list(references.values())))
    done = study.evaluations.filter(key__in=keys, status=Evaluation.Status.DONE)
    rows = {key: (pk, objectives) for pk, key, objectives in done.values_list("id", "key", "objectives")}
    markers = []
    for name, key in zip(references, keys, strict=True):
        pk, measured = rows.get(key, (0, None))
        if not isinstance(measured, list):
            continue  # not measured yet, or failed
        values = tuple(float(v) for v in measured)
        if len(values) == len(config.objectives) and all(math.isfinite(v) for v in values):
            markers.append(ReferenceMarker(pk, name, values))
    return markers
