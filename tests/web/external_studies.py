"""Small studies of the ``external`` evaluator: the user's code measures declared objectives and metrics."""

from __future__ import annotations

from typing import Any

from tests.web.hardware_studies import SMALL_OPTIMIZER

OBJECTIVES = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]

#: A user-defined space: two integers, a log-scaled float and a choice.
CUSTOM_VARIABLES = [
    {"name": "layers", "type": "int", "low": 1, "high": 8},
    {"name": "width", "type": "int", "low": 8, "high": 64},
    {"name": "learning_rate", "type": "log-float", "low": 1e-4, "high": 1e-1},
    {"name": "activation", "type": "choice", "choices": ["relu", "gelu"]},
]


def external_config_dict(
    space: dict[str, Any] | None = None,
    objectives: list[dict[str, str]] | None = None,
    metrics: list[str] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An external study on ``space`` (default HyT-NAS): 3 initial architectures + 2 proposed."""
    objectives = objectives or OBJECTIVES
    data: dict[str, Any] = {
        "space": space or {"name": "hytnas", "params": {}},
        "evaluator": {"name": "external", "params": {"objectives": objectives, "metrics": metrics or []}},
        "objectives": objectives,
        **SMALL_OPTIMIZER,
    }
    data.update(changes)
    return data


def make_external_study(owner: Any, name: str = "My own evaluation", **changes: Any) -> Any:
    """A draft study of ``external_config_dict(**changes)``."""
    from hytnas_web.studies import services
    from search_engine.config import StudyConfig

    return services.save_study(owner, name, StudyConfig.from_dict(external_config_dict(**changes)))


def custom_space() -> dict[str, Any]:
    """The ``generic`` space of ``CUSTOM_VARIABLES``."""
    return {"name": "generic", "params": {"variables": CUSTOM_VARIABLES}}
