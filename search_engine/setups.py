"""Ready-made problems for the command line and the benchmarks: ZDT/DTLZ and the HyT-NAS tables.

A problem setup is the half of a ``StudyConfig`` that describes *what* is searched (space,
evaluator, objectives, reference point); a preset (``presets.py``) supplies *how*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from search_engine.evaluators.table import HYTNAS_FILES, HYTNAS_MODELS
from search_engine.presets import get_preset
from search_engine.registry import EVALUATORS

HYTNAS_TABLE = "hytnas-table"


def hytnas_table_spec(data_dir: str | Path) -> ComponentSpec:
    """The table evaluator over the two measured HyT-NAS tables found in ``data_dir``."""
    folder = Path(data_dir)
    tables = []
    for objective, file_name in HYTNAS_FILES.items():
        path = folder / file_name
        if not path.is_file():
            raise ConfigError("data", f"{path} not found (expected the HyT-NAS table {file_name} there)")
        tables.append({"path": str(path), "objectives": [objective]})
    return ComponentSpec("table", {"tables": tables, "objective_models": dict(HYTNAS_MODELS)})


def problem_config(
    problem: str, *, data_dir: str | Path | None = None, n_var: int = 6, n_obj: int = 2
) -> StudyConfig:
    """A study configuration for ``problem`` with the engine's default components.

    Args:
        problem: a benchmark key (``zdt1`` ... ``dtlz7``) or ``hytnas-table``.
        data_dir: folder of the HyT-NAS tables (``hytnas-table`` only).
        n_var, n_obj: benchmark dimensions.
    """
    if problem == HYTNAS_TABLE:
        if data_dir is None:
            raise ConfigError("data", "the hytnas-table problem needs --data <folder of the HyT-NAS tables>")
        evaluator_spec = hytnas_table_spec(data_dir)
    else:
        evaluator_spec = ComponentSpec("benchmark", {"problem": problem, "n_var": n_var, "n_obj": n_obj})
    evaluator = EVALUATORS.build(evaluator_spec.name, evaluator_spec.params, "evaluator")
    space = evaluator.default_space()
    assert space is not None, "benchmark and table evaluators imply their space"
    reference = evaluator.default_reference_point()
    return StudyConfig(
        space=ComponentSpec(**space.to_spec()),
        evaluator=evaluator_spec,
        objectives=tuple(evaluator.objectives),
        ref_point=tuple(reference) if reference is not None else None,
    )


def study_config(
    problem: str,
    preset: str,
    *,
    budget: int,
    seed: int = 0,
    batch_size: int | None = None,
    n_init: int | None = None,
    ref_point: tuple[float, ...] | None = None,
    **problem_options: Any,
) -> StudyConfig:
    """``problem_config`` with ``preset`` applied and the run's own numbers on top."""
    config = get_preset(preset).apply(problem_config(problem, **problem_options))
    changes: dict[str, Any] = {"budget": budget, "seed": seed}
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if n_init is not None:
        changes["n_init"] = n_init
    if ref_point is not None:
        changes["ref_point"] = tuple(ref_point)
    return config.with_changes(**changes).validate()
