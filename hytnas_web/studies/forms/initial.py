"""What the study form shows before anything is typed: from a study to clone, a preset, or the defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hytnas_web.studies import services
from hytnas_web.studies.forms.components import option_prefix
from hytnas_web.studies.forms.constraints import constraint_initial
from hytnas_web.studies.forms.rows import OBJECTIVE_ROWS
from hytnas_web.studies.models import ComponentKind, Preset


@dataclass
class StudyFormInitial:
    """Initial values of each part of the study form.

    ``main`` holds the main form's, ``params`` each choice's sub-form's by its prefix (e.g.
    ``surrogate-xgboost``: ``{"max_depth": 3}``), ``objectives`` the rows' ``{name, direction, unit}``
    (and ``model``, a table study's regressor of that objective),
    ``constraints`` the bound rows' ``{quantity, bound, value}``.
    """

    main: dict[str, Any] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    objectives: list[dict[str, str]] = field(default_factory=list)
    constraints: list[dict[str, Any]] = field(default_factory=list)

    def choose(self, kind: str, spec: dict[str, Any]) -> None:
        """Choose the component ``spec`` (``{"name", "params"}``) for ``kind``, with its parameters.

        A parameter without an input of its own (the evaluator's tables) is ignored by the sub-form.
        """
        self.main[kind] = spec["name"]
        params = spec.get("params") or {}
        self.params[option_prefix(kind, spec["name"])] = {k: _initial_param(v) for k, v in params.items()}


def initial_values(
    config: dict[str, Any] | None = None,
    components: dict[str, dict[str, Any]] | None = None,
    sizes: dict[str, int] | None = None,
) -> StudyFormInitial:
    """Initial form values from an engine config dict (a cloned study) and/or a preset's components.

    Args:
        config: ``StudyConfig.to_dict()`` of a study to start from; fills every input.
        components: ``{kind: {"name", "params"}}`` of a preset; overrides the config's components.
        sizes: ``n_init`` / ``batch_size`` of a preset.
    """
    initial = StudyFormInitial()
    if config is not None:
        _problem_initial(initial, config)
        initial.constraints = constraint_initial(config)
        kinds = [kind.value for kind in ComponentKind if kind.value in config]
        kinds += ["pending"] if "pending" in config else []
        components = {**{kind: config[kind] for kind in kinds}, **(components or {})}
        initial.main.update({k: config[k] for k in ("n_init", "batch_size", "budget", "seed", "patience")})
        initial.main["auto"] = bool(config.get("auto", False))
        initial.main["in_flight"] = config.get("in_flight")
    for kind, spec in (components or {}).items():
        initial.choose(kind, spec)
    initial.main.update(sizes or {})
    if config is None and sizes:
        initial.main.setdefault("budget", 3 * sizes.get("n_init", 100))
    return initial


def _problem_initial(initial: StudyFormInitial, config: dict[str, Any]) -> None:
    """Space, evaluator, objectives and reference point inputs of a config dict."""
    evaluator = config["evaluator"]
    initial.choose("evaluator", evaluator)
    space = config["space"]
    if evaluator["name"] == "benchmark":
        initial.main["space"] = "benchmark"
    elif space["name"] in ("hytnas", "hytnas-mobilevit"):
        initial.main["space"] = space["name"]
    else:
        initial.main["space"] = "custom"
        spec = json.dumps(space["params"].get("variables", space["params"]), indent=1)
        initial.params[option_prefix("space", "custom")] = {"spec": spec}
    models = (evaluator.get("params") or {}).get("objective_models") or {}
    initial.objectives = [
        {
            "name": o["name"],
            "direction": o["direction"],
            "unit": o.get("unit", ""),
            "model": models.get(o["name"], ""),
        }
        for o in config["objectives"][:OBJECTIVE_ROWS]
    ]
    if config.get("ref_point") is not None:
        initial.main["ref_point"] = ", ".join(f"{v:g}" for v in config["ref_point"])


def _initial_param(value: Any) -> Any:
    """Choice inputs hold text; numbers and JSON keep their type."""
    return value if isinstance(value, int | float | list | dict | bool) or value is None else str(value)


def default_initial(preset: Preset | None) -> StudyFormInitial:
    """A new study's inputs: ZDT1 with its f1, f2 and the preset's components and sizes."""
    initial = StudyFormInitial(main={"space": "benchmark", "evaluator": "benchmark", "seed": 0})
    initial.objectives = [
        {"name": o["name"], "direction": o["direction"], "unit": ""}
        for o in services.default_objectives("benchmark")
    ]
    if preset is not None:
        chosen = initial_values(
            components={**services.preset_components(preset), **_pending_of(preset)},
            sizes={"n_init": preset.n_init, "batch_size": preset.batch_size, **_in_flight_of(preset)},
        )
        initial.main.update(chosen.main, preset=preset.pk, auto=preset.auto)
        initial.params.update(chosen.params)
    return initial


def _pending_of(preset: Preset) -> dict[str, dict[str, Any]]:
    """A saved preset's pending-point strategy, when saved with it (see ``save_preset``)."""
    pending = preset.optimizer.get("pending")
    return {"pending": pending} if isinstance(pending, dict) else {}


def _in_flight_of(preset: Preset) -> dict[str, int]:
    """A saved preset's architectures in flight, when it keeps some (saved with it, see ``save_preset``)."""
    in_flight = preset.optimizer.get("in_flight")
    return {"in_flight": int(in_flight)} if isinstance(in_flight, int) else {}
