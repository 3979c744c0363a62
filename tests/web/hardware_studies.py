"""Small studies of the hardware evaluators (``torch`` on the evaluations queue, ``remote`` on workers).

The networks are built at 32 px with one timed pass, so an evaluation takes a fraction of a second.
"""

from __future__ import annotations

from typing import Any

FAST_TORCH = {
    "task": "classification",
    "resolution": 32,
    "warmup": 0,
    "repeats": 1,
    "batch_size": 2,
    "time_limit": 60.0,
}


SMALL_OPTIMIZER: dict[str, Any] = {
    "sampler": {"name": "lhs", "params": {}},
    "surrogate": {"name": "xgboost", "params": {"n_estimators": 20}},
    "acquisition": {"name": "identity", "params": {}},
    "solver": {"name": "nsga2", "params": {"pop_size": 12, "n_gen": 3}},
    "selection": {"name": "hvi", "params": {}},
    "n_init": 3,
    "batch_size": 2,
    "budget": 5,
    "seed": 1,
}
"""A quick optimizer for studies measured outside the iteration job: 3 initial architectures + 2 proposed."""


def hardware_config_dict(kind: str = "remote", **changes: Any) -> dict[str, Any]:
    """A HyT-NAS study measured by evaluator ``kind`` with FAST_TORCH settings: 3 initial + 2 proposed."""
    data: dict[str, Any] = {
        "space": {"name": "hytnas", "params": {}},
        "evaluator": {"name": kind, "params": dict(FAST_TORCH)},
        "objectives": [
            {"name": "accuracy_proxy", "direction": "max", "unit": "score"},
            {"name": "latency", "direction": "min", "unit": "ms"},
        ],
        **SMALL_OPTIMIZER,
    }
    data.update(changes)
    return data


def make_hardware_study(owner: Any, kind: str = "remote", name: str = "Edge board", **changes: Any) -> Any:
    """A draft study of ``hardware_config_dict``."""
    from hytnas_web.studies import services
    from search_engine.config import StudyConfig

    return services.save_study(owner, name, StudyConfig.from_dict(hardware_config_dict(kind, **changes)))
