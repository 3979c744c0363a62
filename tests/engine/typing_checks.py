"""Static types of what a configuration and the registries build; checked by mypy, never run.

``test_contracts.py`` runs mypy over this module: ``assert_type`` fails on ``Any`` as on a wrong
class, so the optimizer's central path stays typed.
"""

from __future__ import annotations

from typing import assert_type

from search_engine.acquisitions.base import Acquisition
from search_engine.config import StudyConfig
from search_engine.evaluators.base import Evaluator
from search_engine.pending.base import PendingStrategy
from search_engine.registry import (
    ACQUISITIONS,
    EVALUATORS,
    PENDING,
    SAMPLERS,
    SELECTORS,
    SOLVERS,
    SPACES,
    SURROGATES,
)
from search_engine.sampling.base import Sampler
from search_engine.selection.base import Selector
from search_engine.solvers.base import Solver
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import Surrogate


def built_by_a_configuration(config: StudyConfig) -> None:
    assert_type(config.build_space(), SearchSpace)
    assert_type(config.build_evaluator(), Evaluator)
    assert_type(config.build_sampler(), Sampler)
    assert_type(config.build_surrogate(), Surrogate)
    assert_type(config.build_acquisition(), Acquisition)
    assert_type(config.build_solver(), Solver)
    assert_type(config.build_selector(), Selector)
    assert_type(config.build_pending(), PendingStrategy)


def built_by_the_registries() -> None:
    assert_type(SPACES.build("hytnas"), SearchSpace)
    assert_type(EVALUATORS.build("benchmark"), Evaluator)
    assert_type(SAMPLERS.build("uniform"), Sampler)
    assert_type(SURROGATES.build("gp"), Surrogate)
    assert_type(ACQUISITIONS.build("ei"), Acquisition)
    assert_type(SOLVERS.build("nsga2"), Solver)
    assert_type(SELECTORS.build("hvi"), Selector)
    assert_type(PENDING.build("believer"), PendingStrategy)
    assert_type(SURROGATES.load("gp"), type[Surrogate])
