"""HyT-NAS Studio's search engine: multi-objective Bayesian optimization for architecture search.

Framework-free (numpy, pymoo, scikit-learn, xgboost, torch): usable from a Python shell, the
command line (``python -m search_engine``) or a web app's background jobs. The public names below
are imported on first access, so ``import search_engine.spaces.hytnas`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "ComponentSpec": "search_engine.config",
    "StudyConfig": "search_engine.config",
    "ConfigError": "search_engine.errors",
    "DataError": "search_engine.errors",
    "Objective": "search_engine.objectives",
    "ReferencePoint": "search_engine.objectives",
    "derive_reference_point": "search_engine.objectives",
    "Optimizer": "search_engine.optimizer",
    "initial_design": "search_engine.optimizer",
    "iteration_seed": "search_engine.optimizer",
    "propose": "search_engine.optimizer",
    "PRESETS": "search_engine.presets",
    "get_preset": "search_engine.presets",
    "describe": "search_engine.registry",
    "RunResult": "search_engine.runner",
    "run_search": "search_engine.runner",
    "EvaluationResult": "search_engine.types",
    "Proposal": "search_engine.types",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'search_engine' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return __all__
