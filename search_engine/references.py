"""Reference architectures: named networks a study measures beside the ones it searches for.

An evaluator declares them (``Evaluator.reference_architectures``: the torch evaluators offer
MobileViT-XXS, XS and S with ``measure_references``). They are measured first, as part of the
initial design (so they count towards ``n_init`` and the budget like any measurement, and the
surrogate learns from them), and a chart names them by their key wherever they appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from search_engine.config import StudyConfig
from search_engine.registry import EVALUATORS
from search_engine.spaces.base import SearchSpace
from search_engine.types import Architecture, Array


def study_references(config: StudyConfig) -> dict[str, Architecture]:
    """The reference architectures ``config``'s evaluator measures (name -> architecture); often none."""
    params = EVALUATORS.resolve(config.evaluator.name, config.evaluator.params, "evaluator")
    return EVALUATORS.load(config.evaluator.name).reference_architectures(params)


def reference_points(config: StudyConfig, space: SearchSpace, exclude: Iterable[str] = ()) -> Array:
    """``(k, n_vars)`` canonical points of the study's references whose keys are not in ``exclude``."""
    references = list(study_references(config).values())
    if not references:
        return np.zeros((0, space.n_vars))
    X = space.encode(references)
    skip = set(exclude)
    keep = [i for i, key in enumerate(space.keys(X)) if key not in skip]
    return X[keep]


def reference_names(config: StudyConfig, keys: Sequence[str]) -> list[str | None]:
    """For each architecture key, the name of the reference it is (None: not a reference)."""
    references = study_references(config)
    if not references:
        return [None] * len(keys)
    space = config.build_space()
    by_key = dict(zip(space.keys(space.encode(list(references.values()))), references, strict=True))
    return [by_key.get(key) for key in keys]
