"""What the study form needs: the component catalogue, and a checked StudyConfig from its values."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from hytnas_web.studies.models import Preset, Study
from hytnas_web.studies.services.configs import COMPONENT_KINDS, sync_builtin_presets
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.presets import DEFAULT_PRESET as DEFAULT_PRESET  # the form starts from it

logger = logging.getLogger(__name__)

# The study form hands plain values to these functions and shows the ConfigError they raise next to
# the input its ``field`` path names; nothing here is trusted to have been checked by the browser.


SPACE_KINDS = {
    "benchmark": "The benchmark problem's own space (continuous, x0 … xn in [0, 1])",
    "hytnas": "HyT-NAS hybrid conv/attention space (23 variables)",
    "hytnas-mobilevit": "HyT-NAS extended to reach MobileViT (27 variables)",
    "custom": "Custom space (JSON)",
}
"""How the study form picks a space, as it offers each: the benchmark problem's own, HyT-NAS, a JSON spec."""

NETWORK_SPACES = ("hytnas", "hytnas-mobilevit")
"""The spaces whose architectures are networks the torch evaluators build (their ``space`` parameter)."""


DISPATCH_TEXT = {
    "inline": "Evaluations run inside the iteration job (a formula or a fitted predictor: milliseconds).",
    "queue": "Evaluations run on the evaluations queue (any RQ worker reaching this server's Redis).",
    "remote": (
        "Evaluations wait for evaluation workers holding a token "
        "(python -m search_engine.worker on the device that matters)."
    ),
}
"""Where an evaluator's work runs, by its ``dispatch`` capability, as the study form explains it."""

RUNS_ELSEWHERE_TEXT = {
    "external": (
        "Evaluations wait for your own code holding a worker token: search_engine.client's "
        "optimize(fn) or ask/tell, or your own command run for each architecture by "
        "python -m search_engine.worker --command (README: Bring your own evaluation)."
    ),
}
"""Where the work of an evaluator measured outside the studio runs, when not by the evaluation worker."""


def default_component_key(kind: str) -> str:
    """The key a configuration takes for component ``kind`` when nothing chooses one (``StudyConfig``'s)."""
    default = next(f.default for f in dataclasses.fields(StudyConfig) if f.name == kind)
    assert isinstance(default, ComponentSpec)
    return default.name


def component_catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every registry's entries (key, label, parameter schema, capabilities) for drawing the study form.

    Evaluator entries also carry ``runs``: where their evaluations run, in words (``DISPATCH_TEXT``,
    or ``RUNS_ELSEWHERE_TEXT`` for the user's own evaluation).
    """
    from search_engine.registry import describe

    catalogue = describe()
    catalogue["evaluator"] = [
        {
            **entry,
            "runs": RUNS_ELSEWHERE_TEXT.get(entry["key"])
            or DISPATCH_TEXT.get(str(entry["capabilities"].get("dispatch")), ""),
        }
        for entry in catalogue["evaluator"]
    ]
    return catalogue


def default_objectives(
    evaluator: str, n_obj: int = 2, params: dict[str, Any] | None = None
) -> list[dict[str, str]]:
    """The objectives an evaluator reports unless the user names others.

    A benchmark scores ``f1 .. fm`` (all minimised, no unit); the table and external evaluators
    default to the HyT-NAS pair, accuracy (max, %) and latency (min, ms), and measure whatever the
    user's tables hold or the user's code reports (the rows declare them).
    Any other evaluator (``torch``, ``remote``) states its own, which depend on its ``params``:
    the objective of their ``accuracy`` signal (``search_engine.evaluators.accuracy_signals``:
    ``accuracy_proxy``, ``synflow``, ``params``, ``macs`` or ``accuracy``, all max) and ``latency``
    (min, ms), or latency alone, as their ``accuracy`` parameter says.
    """
    from search_engine.evaluators.table import HYTNAS_OBJECTIVES
    from search_engine.registry import EVALUATORS

    if evaluator == "benchmark":
        return [{"name": f"f{i + 1}", "direction": "min", "unit": ""} for i in range(n_obj)]
    if evaluator == "table":
        return [dict(o) for o in HYTNAS_OBJECTIVES]
    built = EVALUATORS.build(evaluator, params or {}, "evaluator")
    return [o.to_dict() for o in built.objectives]


def objective_defaults() -> dict[str, dict[str, Any]]:
    """What the study form pre-fills as objectives for each evaluator but the benchmark.

    Per evaluator key: ``param``, the one choice parameter that changes its objectives (None when
    none does), and ``objectives``, the defaults per value of that parameter (key "" without one).
    The table evaluator's, the HyT-NAS accuracy and latency, also carry each one's ``model``: the
    regressor the command line's HyT-NAS setup fits for it (``TableEvaluator.hytnas``), and the
    entry a ``ref_point``: that setup's reference point, as the form's input spells it.
    The benchmark's defaults follow its ``n_obj`` input and are drawn by the page's script.
    """
    from search_engine.evaluators.table import HYTNAS_MODELS, HYTNAS_REFERENCE_POINT
    from search_engine.registry import EVALUATORS

    defaults: dict[str, dict[str, Any]] = {}
    for entry in EVALUATORS.describe():
        key = entry["key"]
        if key == "benchmark":
            continue
        base = default_objectives(key)
        defaults[key] = {"param": None, "objectives": {"": base}}
        if key == "table":  # the HyT-NAS tables, with the setup's regressors and reference point
            defaults[key]["objectives"][""] = [{**o, "model": HYTNAS_MODELS[o["name"]]} for o in base]
            defaults[key]["ref_point"] = ", ".join(f"{v:g}" for v in HYTNAS_REFERENCE_POINT)
        if key in ("table", "external"):
            continue  # their objectives are the user's: what the tables hold, what their code measures
        for param in entry["params"]:
            if param["kind"] != "choice":
                continue
            by_value = {
                str(choice): default_objectives(key, params={param["name"]: choice})
                for choice in param["choices"]
            }
            if any(objectives != base for objectives in by_value.values()):
                defaults[key] = {"param": param["name"], "objectives": by_value}
                break
    return defaults


def available_presets(owner: User) -> list[Preset]:
    """Built-in presets (created on first use) in the engine's order, then the owner's own."""
    built_in = sync_builtin_presets()
    return [*built_in, *Preset.objects.filter(owner=owner).order_by("label")]


def study_tables(study: Study) -> list[dict[str, Any]]:
    """The measured tables a table-evaluator study was created with (``[]`` for other evaluators)."""
    if not isinstance(study.evaluator, dict) or study.evaluator.get("name") != "table":
        return []
    tables = (study.evaluator.get("params") or {}).get("tables") or []
    return [dict(t) for t in tables if isinstance(t, dict) and isinstance(t.get("text"), str)]


def config_from_form(data: dict[str, Any], tables: list[dict[str, Any]] | None = None) -> StudyConfig:
    """A validated StudyConfig from the study form's values.

    Args:
        data: ``space`` (one of SPACE_KINDS) and ``space_spec`` (parsed JSON of a custom space: a
            list of variables, ``{"variables": [...]}`` or ``{"name", "params"}``); ``evaluator``
            as ``{"name", "params"}`` (for ``table``, without tables, objectives and space, which
            come from the other values); ``objectives`` (list of {name, direction, unit}; empty =
            the evaluator's own); ``ref_point`` (list of numbers or None = derived); each component
            kind as ``{"name", "params"}``; ``n_init``, ``batch_size``, ``budget``, ``seed``,
            ``patience``, ``in_flight`` (None: synchronous batches), ``pending`` (how points in
            flight condition a proposal; absent: the default), ``constraints`` (list of
            {quantity, bound, value}) and, for ``table``, ``objective_models`` ({objective name:
            regressor} for the objectives whose regressor is not the evaluator's ``model``; absent or
            None: none).
        tables: for the table evaluator, ``[{"name", "text", "objectives": [names] or None}]``.

    Raises:
        ConfigError: naming the bad value as a dotted path (``surrogate.params.max_depth``,
            ``evaluator.params.tables[1]`` for a table's CSV error, with its line number in the
            message), so the form can show the message next to the right input. Only the table
            evaluator takes tables; ``external`` takes the objectives the rows declare (two or
            more) and any space; ``torch`` and ``remote`` search the HyT-NAS space with the
            objectives they state themselves.
    """
    try:
        return _config_from_form(data, tables or [])
    except ConfigError:
        raise
    except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError) as exc:
        # Hostile or unforeseen input must become a message, never a server error.
        logger.warning("study form values the engine could not take: %r", exc)
        raise ConfigError("config", f"this configuration cannot be used: {exc}") from None


def _config_from_form(data: dict[str, Any], tables: list[dict[str, Any]]) -> StudyConfig:
    from search_engine.registry import EVALUATORS

    evaluator_name = data["evaluator"]["name"]
    EVALUATORS.entry(evaluator_name, "evaluator.name")
    evaluator_params = dict(data["evaluator"].get("params") or {})
    objectives = list(data.get("objectives") or [])
    if evaluator_name == "benchmark":
        benchmark = EVALUATORS.build("benchmark", evaluator_params, "evaluator")
        assert isinstance(benchmark, BenchmarkEvaluator)
        n_obj = len(benchmark.objectives)
        objectives = objectives or default_objectives("benchmark", n_obj)
        if len(objectives) != n_obj:
            raise ConfigError(
                "objectives", f"the benchmark problem reports {n_obj} objectives; {len(objectives)} are named"
            )
        if data["space"] != "benchmark":
            raise ConfigError("space", "a benchmark problem is searched in its own space; choose that space")
        space = benchmark.default_space().to_spec()
    elif evaluator_name == "table":
        evaluator_params = _table_params(data, _checked_tables, tables)
        objectives, space = evaluator_params["objectives"], evaluator_params["space"]
    elif evaluator_name == "external":
        space = _form_space(data["space"], data.get("space_spec"))
        evaluator_params = {**evaluator_params, "objectives": _declared_objectives(objectives)}
        EVALUATORS.build("external", evaluator_params, "evaluator")  # two or more, metric names
    else:
        if data["space"] in NETWORK_SPACES[1:]:  # the page's space choice names the networks to build
            evaluator_params = {**evaluator_params, "space": data["space"]}  # (HyT-NAS: the default)
        space, objectives = _own_problem(evaluator_name, evaluator_params, data["space"], objectives)
    config = StudyConfig.from_dict(
        {
            "space": space,
            "evaluator": {"name": evaluator_name, "params": evaluator_params},
            "objectives": objectives,
            "ref_point": data.get("ref_point"),
            **{kind: data[kind] for kind in COMPONENT_KINDS},
            **({"pending": data["pending"]} if data.get("pending") else {}),
            **{
                name: data.get(name)
                for name in ("n_init", "batch_size", "budget", "seed", "patience", "in_flight")
            },
            "constraints": data.get("constraints") or [],
            "auto": bool(data.get("auto", False)),
        }
    ).validate()
    members = config.surrogate.params.get("surrogates") if config.surrogate.name == "mix" else None
    if isinstance(members, list | tuple) and len(members) != config.n_objectives:
        raise ConfigError(
            "surrogate.params.surrogates",
            f"give one surrogate per objective: {config.n_objectives}, not {len(members)}",
        )
    return config


TableCheck = Callable[[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]], list[dict[str, Any]]]
"""Parses the uploaded tables for a space and objectives into the evaluator's entries (or raises)."""


def _table_params(
    data: dict[str, Any], check_tables: TableCheck, tables: list[dict[str, Any]]
) -> dict[str, Any]:
    """The table evaluator's parameters from the form's values: the page's inputs over its sub-form's."""
    objectives = list(data.get("objectives") or []) or default_objectives("table")
    space = _form_space(data["space"], data.get("space_spec"))
    return {
        **dict(data["evaluator"].get("params") or {}),
        "tables": check_tables(tables, space, objectives),
        "objectives": objectives,
        "space": space,
        **({"objective_models": data["objective_models"]} if data.get("objective_models") else {}),
    }


def form_table_evaluator(data: dict[str, Any], tables: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The table evaluator ``{name, params}`` as the form's values would store it, or None if they would not.

    For showing the uploaded tables' fit (``table_fit.evaluator_fit``) on a form whose other parts
    are still wrong: the same parameters ``config_from_form`` stores, so the fit is computed once.
    """
    from search_engine.registry import EVALUATORS

    try:
        params = _table_params(data, _checked_tables, tables)
        EVALUATORS.resolve("table", params, "evaluator")
    except (ConfigError, TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError):
        return None
    return {"name": "table", "params": params}


def config_problems(data: dict[str, Any], tables: list[dict[str, Any]]) -> list[ConfigError]:
    """What the engine finds wrong in each part of the form's values, each part checked on its own.

    For a form some of whose inputs could not be read: ``data`` holds None for the parts that
    could not (a component whose choice is unknown, a size that is not a number) and leaves out
    the parameters that could not, so every part a user can fix already is reported now rather
    than after the rest is fixed. The parts: each optimizer component, the evaluator's own
    parameters, and for a table study each uploaded table. Errors of a whole configuration (a
    budget below the initial design, an acquisition the surrogate cannot serve) wait for
    ``config_from_form``, which needs every part.
    """
    from search_engine.config import COMPONENT_FIELDS
    from search_engine.registry import EVALUATORS

    problems: list[ConfigError] = []
    checks: list[Callable[[], object]] = [
        functools.partial(registry.resolve, spec["name"], spec.get("params") or {}, kind)
        for kind, registry in COMPONENT_FIELDS.items()
        if isinstance(spec := data.get(kind), dict)
    ]
    evaluator = data.get("evaluator")
    if isinstance(evaluator, dict) and evaluator["name"] == "table" and data.get("space"):

        def table_problems(
            tables: list[dict[str, Any]], space: dict[str, Any], objectives: list[dict[str, Any]]
        ) -> list[dict[str, Any]]:
            entries, found = _table_entries(tables, space, objectives)
            problems.extend(found)
            return entries

        checks.append(functools.partial(_table_params, data, table_problems, tables))
    elif isinstance(evaluator, dict) and evaluator["name"] in EVALUATORS:
        checks.append(
            functools.partial(
                EVALUATORS.resolve, evaluator["name"], evaluator.get("params") or {}, "evaluator"
            )
        )
    for check in checks:
        try:
            check()
        except ConfigError as exc:
            problems.append(exc)
        except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError):
            continue  # config_from_form reports those once every part is readable
    return problems


def _declared_objectives(objectives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objectives the user's own evaluation reports, as the rows declare them: two or more."""
    from search_engine.evaluators.external import MIN_OBJECTIVES

    if len(objectives) < MIN_OBJECTIVES:
        raise ConfigError(
            "objectives",
            f"name the {MIN_OBJECTIVES} or more objectives your evaluation reports "
            f"({len(objectives)} named): name, direction and unit of each",
        )
    return objectives


def _own_problem(
    name: str, params: dict[str, Any], space_kind: str, objectives: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Space and objectives of an evaluator that builds its own networks (``torch``, ``remote``).

    Such an evaluator builds HyT-NAS networks, so it searches the HyT-NAS space only, and it
    reports the objectives it states itself (they depend on its parameters): the user may leave
    them blank or name the same ones, in the same order.
    """
    from search_engine.registry import EVALUATORS

    evaluator = EVALUATORS.build(name, params, "evaluator")
    reported = [o.to_dict() for o in evaluator.objectives]
    own_space = evaluator.default_space()
    if own_space is None:
        raise ConfigError("evaluator.name", f"the {name} evaluator cannot be chosen in this form")
    space = own_space.to_spec()
    if space_kind != space["name"]:
        raise ConfigError(
            "space",
            f"the {name} evaluator builds HyT-NAS networks, so it searches a HyT-NAS space: "
            "choose HyT-NAS or its extension that reaches MobileViT",
        )
    return space, _matching_objectives(name, objectives, reported)


def _matching_objectives(
    evaluator: str, given: list[dict[str, Any]], reported: list[dict[str, str]]
) -> list[dict[str, str]]:
    """``reported`` when ``given`` is empty or names the same objectives; else a ConfigError on them.

    An empty unit is the evaluator's; any other difference would mislabel what it measures.
    """
    if not given:
        return reported
    if len(given) != len(reported):
        names = ", ".join(o["name"] for o in reported)
        raise ConfigError(
            "objectives",
            f"the {evaluator} evaluator reports {len(reported)} objective(s), {names}; "
            f"{len(given)} are named (leave the rows blank to use its own)",
        )
    for i, (mine, theirs) in enumerate(zip(given, reported, strict=True)):
        if mine.get("name") != theirs["name"]:
            raise ConfigError(
                f"objectives[{i}]",
                f"the {evaluator} evaluator reports {theirs['name']!r} here, not {mine.get('name')!r}",
            )
        if mine.get("direction", "min") != theirs["direction"]:
            better = "larger" if theirs["direction"] == "max" else "smaller"
            raise ConfigError(
                f"objectives[{i}].direction",
                f"{theirs['name']} is better {better}: choose {theirs['direction']}",
            )
        if mine.get("unit") and mine["unit"] != theirs["unit"]:
            reported_in = f"the {evaluator} evaluator reports {theirs['name']} in {theirs['unit']}"
            raise ConfigError(f"objectives[{i}].unit", reported_in)
    return reported


def _form_space(kind: str, spec: Any) -> dict[str, Any]:
    """The ``{name, params}`` of the space a non-benchmark study searches."""
    from search_engine.registry import SPACES

    if kind in NETWORK_SPACES:
        return {"name": kind, "params": {}}
    if kind == "benchmark":
        raise ConfigError("space", "the benchmark problem's space goes with the benchmark evaluator")
    if kind != "custom":
        raise ConfigError("space", f"unknown kind of space {kind!r}; known: {', '.join(SPACE_KINDS)}")
    if isinstance(spec, list):
        spec = {"name": "generic", "params": {"variables": spec}}
    elif isinstance(spec, dict) and "name" not in spec:
        spec = {"name": "generic", "params": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("params", {}), dict):
        raise ConfigError(
            "space", 'expected a list of variables, {"variables": [...]} or {"name": ..., "params": {...}}'
        )
    checked = ComponentSpec.from_dict(spec, "space")
    SPACES.build(checked.name, checked.params, "space")
    return checked.to_dict()


def _checked_tables(
    tables: list[dict[str, Any]], space: dict[str, Any], objectives: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Parse every uploaded table now, so a bad cell is reported with its line before the study exists."""
    entries, problems = _table_entries(tables, space, objectives)
    if problems:
        raise problems[0]
    return entries


def _table_entries(
    tables: list[dict[str, Any]], space: dict[str, Any], objectives: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[ConfigError]]:
    """Each table parsed on its own: the entries the evaluator takes, and every table's problem."""
    from search_engine.evaluators.table_csv import parse_table
    from search_engine.objectives import Objective
    from search_engine.registry import SPACES

    if not tables:
        return [], [ConfigError("evaluator.params.tables", "upload at least one table of measurements")]
    parsed_objectives = [Objective.from_dict(o, f"objectives[{i}]") for i, o in enumerate(objectives)]
    names = [o.name for o in parsed_objectives]
    built_space = SPACES.build(space["name"], space.get("params") or {}, "space")
    entries: list[dict[str, Any]] = []
    problems: list[ConfigError] = []
    for i, table in enumerate(tables):
        field = f"evaluator.params.tables[{i}]"
        wanted = table.get("objectives") or None
        unknown = [n for n in wanted or [] if n not in names]
        if unknown:
            known = ", ".join(names)
            problems.append(
                ConfigError(f"{field}.objectives", f"unknown objective {unknown[0]!r}; known: {known}")
            )
            continue
        if wanted is not None and len(set(wanted)) != len(wanted):
            problems.append(ConfigError(f"{field}.objectives", "an objective is named twice"))
            continue
        try:
            parsed = parse_table(table["text"], table["name"], built_space, parsed_objectives, wanted)
        except DataError as exc:
            problems.append(ConfigError(field, str(exc)))
            continue
        entries.append({"name": table["name"], "text": table["text"], "objectives": list(parsed.objectives)})
    covered = {name for entry in entries for name in entry["objectives"]}
    missing = [n for n in names if n not in covered]
    if missing and not problems:
        problems.append(ConfigError("evaluator.params.tables", f"no table measures objective {missing[0]!r}"))
    return entries, problems
