"""What the evaluation worker API exchanges, declared once as pydantic models.

Each request and response is one model here: the API checks a body by validating it against its
model, and the OpenAPI document (``studies.openapi``) prints the models' JSON schemas, so the rules
and their description cannot drift apart. A refused body becomes one ``InvalidPayload`` whose
``field`` names the value in the form a person reads (``objectives[1]``, ``stage_latency.neck``):
``_field_path`` and ``_message`` turn pydantic's errors into that form, for every model.

Bodies reach the models only through ``parse_body``, which bounds their size and nesting first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from hytnas_web.studies.formatting import exact_size
from hytnas_web.studies.services import json_input
from hytnas_web.studies.services.json_input import JSONLimitError

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 8  # levels of arrays and objects in a body: a report needs three
MAX_CLAIM = 64
LEASE_SECONDS = (30, 86400)
DEFAULT_LEASE_SECONDS = 600
MAX_DEVICE_KEYS = 64
MAX_METRICS = 200
MAX_STAGES = 16
MAX_TEXT = 10_000
MAX_NAME = 200
MAX_RUNTIMES = 16
NAME_LENGTH = (1, 100)  # of a key in stage_latency, metrics and device

Model = TypeVar("Model", bound=BaseModel)

#: What became of a report: written now, or written before under the same lease.
ReportOutcome = Literal["recorded", "already_recorded"]

#: The kinds of work a worker claims: the torch measurement ``python -m search_engine.worker`` makes
#: (``remote``), or the user's own evaluation (``external``, ``search_engine.client``).
WorkKind = Literal["remote", "external"]


class InvalidPayload(ValueError):
    """A payload that breaks a rule; ``field`` names the offending value (None: the whole body)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BodyTooLarge(InvalidPayload):
    """A body over ``MAX_BODY_BYTES``."""


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object in a request body (an empty body is an empty object), within the limits."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(None, f"the body is larger than {exact_size(MAX_BODY_BYTES)}")
    if not body.strip():
        return {}
    try:
        data = json_input.loads(body, max_bytes=MAX_BODY_BYTES, max_depth=MAX_DEPTH, what="the body")
    except JSONLimitError as exc:
        raise InvalidPayload(None, str(exc)) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise InvalidPayload(None, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidPayload(None, "the body must be a JSON object")
    return data


def checked(model: type[Model], data: Mapping[str, Any], **context: Any) -> Model:
    """``data`` validated as ``model`` (``context`` reaches its validators), or InvalidPayload."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise InvalidPayload(_field_path(error["loc"]), _message(error, model)) from None


# --- value types shared by the models ---


def _rule(message: str) -> PydanticCustomError:
    """A broken rule of the API, said in words (raised from a model's validators)."""
    return PydanticCustomError("rule", message)


def _one_error_for_a_scalar(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Report a value that fits none of a scalar's types once, not once per type.

    A value of a member's type that breaks that member's limit (a string too long) is told the
    limit; any other value is told the types it may have.
    """
    try:
        return handler(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            if not error["type"].endswith("_type"):
                raise PydanticCustomError(error["type"], error["msg"], error.get("ctx")) from None
        raise _rule(f"must be a string, a number or a boolean, got {_json_kind(value)}") from None


Name = Annotated[str, StringConstraints(min_length=NAME_LENGTH[0], max_length=NAME_LENGTH[1])]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
# Whole numbers stay whole ("4 cores", not "4.0"); beyond 64 bits they are kept as floats.
Scalar = Annotated[
    bool
    | Annotated[int, Field(gt=-(2**63), lt=2**63)]
    | FiniteNumber
    | Annotated[str, StringConstraints(max_length=MAX_NAME)]
    | None,
    WrapValidator(_one_error_for_a_scalar),
]
Device = Annotated[
    dict[Name, Scalar],
    Field(
        max_length=MAX_DEVICE_KEYS,
        description="the measuring machine: name, hostname, system, machine, processor, cpu_count, "
        f"memory_mb, python, torch, ... (strings of at most {MAX_NAME} characters, numbers, booleans)",
    ),
]
LeaseSeconds = Annotated[
    int,
    Field(
        ge=LEASE_SECONDS[0],
        le=LEASE_SECONDS[1],
        description="how long the worker holds the work unless it extends the lease",
    ),
]
# A report's objectives: a list in the claim's order, or an object by objective name. The tags
# (dropped from error paths by ``_field_path``) keep pydantic from reporting both forms' errors.
_BY_POSITION, _BY_NAME = "[list]", "[object]"
ObjectiveValues = Annotated[
    Annotated[list[FiniteNumber], Tag(_BY_POSITION)] | Annotated[dict[Name, FiniteNumber], Tag(_BY_NAME)],
    Discriminator(lambda value: _BY_NAME if isinstance(value, dict) else _BY_POSITION),
]
# Times as Python writes them (``+00:00``), as the API always has.
Moment = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]


# --- requests ---


class _Request(BaseModel):
    """JSON types as sent: no string is read as a number, no ``true`` as 1."""

    model_config = ConfigDict(strict=True, extra="forbid")


class ClaimRequest(_Request):
    """What a worker asks for: how many evaluations, for how long, and what it is."""

    max_evaluations: int = Field(1, ge=1, le=MAX_CLAIM, description="how many evaluations to hold")
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_SECONDS
    device: Device | None = None
    study: int | None = Field(None, ge=1, le=2**62, description="only work of this study")
    evaluator: WorkKind = Field(
        "remote",
        description="the kind of work: remote (the torch measurement of python -m search_engine.worker) "
        "or external (your own evaluation, as with search_engine.client)",
    )
    runtimes: Annotated[list[Name], Field(max_length=MAX_RUNTIMES)] | None = Field(
        None,
        description="remote work only: the runtimes this worker can measure latency in, such as "
        '["eager", "onnxruntime"]; work of a study measured in any other runtime stays for a worker '
        "that has it, and the answer's refused says so (omitted: any runtime, as older workers claim)",
    )


class ExtendRequest(_Request):
    """A lease's new length, from now."""

    model_config = ConfigDict(extra="ignore")  # other keys have always been let through here

    lease_seconds: LeaseSeconds = DEFAULT_LEASE_SECONDS


class ReportRequest(_Request):
    """One evaluation's outcome as a worker reports it."""

    # Checked with ``context={"n_objectives": n}``, the study's objective count; the names of an
    # object of objectives and of metrics are checked against the study by ``declared_values``.
    lease: UUID = Field(strict=False, description="the lease id the claim returned")
    status: Literal["done", "failed"]
    objectives: ObjectiveValues | None = Field(
        None,
        validate_default=True,
        description="done only: one finite value per objective in the claim's units, as a list in the "
        "claim's order or as an object by objective name",
    )
    stage_latency: Annotated[dict[Name, NonNegative], Field(max_length=MAX_STAGES)] | None = Field(
        None, description='median ms per stage, such as {"backbone": 4.2, "neck": 1.1}'
    )
    metrics: Annotated[dict[Name, Scalar], Field(max_length=MAX_METRICS)] | None = Field(
        None,
        description="named numbers, strings or booleans: parameters, multiply-adds, latency "
        "percentiles, peak memory, ...",
    )
    error: str | None = Field(
        None, max_length=MAX_TEXT, validate_default=True, description="failed only: why"
    )
    seconds: NonNegative | None = Field(None, description="wall time of the evaluation")
    device: Device | None = None

    @field_validator("objectives")
    @classmethod
    def _objectives_fit_the_status(
        cls, value: list[float] | dict[str, float] | None, info: ValidationInfo
    ) -> list[float] | dict[str, float] | None:
        status = info.data.get("status")
        n_objectives = (info.context or {}).get("n_objectives")
        if status == "failed" and value is not None:
            raise _rule('a "failed" report carries no objectives')
        if status == "done" and n_objectives is not None:
            if value is None:
                raise _rule(f"give a list of {n_objectives} numbers, one per objective")
            if isinstance(value, list) and len(value) != n_objectives:
                raise _rule(f"the study has {n_objectives} objectives; {len(value)} values were sent")
        return value

    @field_validator("error")
    @classmethod
    def _error_fits_the_status(cls, value: str | None, info: ValidationInfo) -> str | None:
        status = info.data.get("status")
        if status == "done" and value:
            raise _rule('a "done" report carries no error; report "failed" instead')
        if status == "failed" and not (value or "").strip():
            raise _rule("say why the evaluation failed")
        return value


def declared_values(
    report: ReportRequest, objective_names: Sequence[str], metric_names: Sequence[str] | None
) -> list[float] | None:
    """The report's objectives in the study's order, its names checked against what the study declares.

    ``metric_names`` None lets any metric through. Raises InvalidPayload naming the objective or
    metric (``objectives.latency``, ``metrics.energy``) that is missing or not declared.
    """
    if metric_names is not None:
        for name in report.metrics or {}:
            if name not in metric_names:
                declared = ", ".join(metric_names) or "none"
                raise InvalidPayload(
                    f"metrics.{name}", f"the study declares no metric {name!r}; declared: {declared}"
                )
    values = report.objectives
    if not isinstance(values, dict):
        return values
    for name in values:
        if name not in objective_names:
            raise InvalidPayload(
                f"objectives.{name}",
                f"the study has no objective {name!r}; its objectives: {', '.join(objective_names)}",
            )
    for name in objective_names:
        if name not in values:
            raise InvalidPayload(
                f"objectives.{name}", "is required: every objective of the study needs a value"
            )
    return [values[name] for name in objective_names]


_DEVICE = TypeAdapter(Device)


def check_device(value: Any, name: str) -> dict[str, Any] | None:
    """A flat object describing a machine (see ``Device``), checked outside a request body."""
    if value is None:
        return None
    try:
        return _DEVICE.validate_python(value, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise InvalidPayload(_field_path((name, *error["loc"])), _message(error, None)) from None


# --- responses ---


class LeaseView(BaseModel):
    """A lease as a worker sees it."""

    id: UUID
    expires_at: Moment
    lease_seconds: int = Field(description="seconds left")


class ObjectiveView(BaseModel):
    """One of the study's objectives: its name, direction and unit."""

    name: str
    direction: str = Field(description='"min" or "max"')
    unit: str = ""


class StudyRef(BaseModel):
    """The study an evaluation belongs to."""

    id: int
    name: str


class EvaluatorSpec(BaseModel):
    """The evaluator a worker builds: its search_engine registry name and parameters."""

    name: str
    params: dict[str, Any]


class WorkItem(BaseModel):
    """One claimed evaluation and how to measure it."""

    id: int = Field(description="the evaluation to report on")
    study: StudyRef
    key: str = Field(description="the architecture's stable key in the study's space")
    architecture: dict[str, Any] = Field(description="the design variables of the study's space, decoded")
    x: list[float] = Field(description="the architecture as a point of the unit cube, one value per variable")
    evaluator: EvaluatorSpec
    objectives: list[ObjectiveView] = Field(description="the order in which a report gives its values")
    metrics: list[str] | None = Field(description="the only metric names a report may carry (null: any)")


class RefusedStudy(BaseModel):
    """A running study whose work the claim left alone: it is measured in a runtime the worker lacks."""

    study: StudyRef
    runtime: str = Field(description="the runtime the study measures latency in, e.g. onnxruntime")
    message: str = Field(description="what the worker lacks and how to give it, in words")


class ClaimResponse(BaseModel):
    """The work claimed, maybe none."""

    lease: LeaseView | None
    evaluations: list[WorkItem]
    retry_after_seconds: int = Field(description="when nothing was claimed: how long to wait")
    studies_running: int = Field(
        description="running studies of this kind the token reaches and the worker can measure (0: "
        "no more work will come until one is started or resumed)"
    )
    refused: list[RefusedStudy] = Field(
        default_factory=list,
        description="running studies the token reaches whose work this worker cannot measure (a "
        "runtime missing from the claim's runtimes), each saying why",
    )


class ExtendResponse(BaseModel):
    """A lease's new end and the evaluations it still holds."""

    lease: LeaseView
    evaluations: list[int] = Field(description="the pending evaluations the lease still holds")


class ReportResponse(BaseModel):
    """What became of a report."""

    status: ReportOutcome
    evaluation: int


class TokenView(BaseModel):
    """A token's name, the start of its secret, and the study it is limited to (None: every study)."""

    name: str
    prefix: str
    study: int | None


class WorkerResponse(BaseModel):
    """The token a worker holds, and the server's clock."""

    token: TokenView
    server_time: Moment


class ErrorResponse(BaseModel):
    """What was wrong, in words; ``status`` is ``rejected`` when the state of things refused it."""

    error: str
    field: str | None = Field(description="the offending value, as a dotted path")
    status: Literal["rejected"] | None = None


# --- pydantic's errors in the API's words ---

_EXPECTED = {
    "bool_type": "a boolean",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "an object",
    "list_type": "a list",
    "literal_error": "{expected}",
    "uuid_type": "a UUID",
    "uuid_parsing": "a UUID",
}
_LIMITS = {
    "greater_than_equal": "must be at least {ge}, got {input}",
    "greater_than": "must be more than {gt}, got {input}",
    "less_than_equal": "must be at most {le}, got {input}",
    "less_than": "must be less than {lt}, got {input}",
    "finite_number": "must be a finite number",
    "string_too_long": "at most {max_length} characters",
    "string_too_short": "at least {min_length} characters",
    "too_long": "at most {max_length} entries",
}


def _field_path(loc: tuple[int | str, ...]) -> str | None:
    """``("objectives", 1)`` -> ``objectives[1]``; a dict key's own error names the dict."""
    if loc[-1:] == ("[key]",):
        loc = loc[:-2]
    path = ""
    for part in (part for part in loc if part not in (_BY_POSITION, _BY_NAME)):
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or None


def _message(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    kind, value = error["type"], error["input"]
    context = {key: _shown(item) for key, item in (error.get("ctx") or {}).items()}
    if kind == "rule":
        return error["msg"]
    if error["loc"][-1:] == ("[key]",):
        return f"names must be {NAME_LENGTH[0]} to {NAME_LENGTH[1]} characters, got {value!r}"
    if kind == "extra_forbidden" and model is not None:
        known = ", ".join(sorted(model.model_fields))
        return f"unknown field {error['loc'][-1]!r}; known: {known}"
    if kind in _EXPECTED:
        message = "must be " + _EXPECTED[kind].format(**context)
        if kind.endswith("_type"):
            message += f", got {_json_kind(value)}"
        return message + _hint(error["loc"], model)
    if kind == "missing":
        return "is required" + _hint(error["loc"], model)
    if kind in _LIMITS:
        return _LIMITS[kind].format(input=_shown(value), **context)
    return error["msg"]


def _hint(loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    """What a top-level field of ``model`` holds (its description), after a wrong type or a gap."""
    field = model.model_fields.get(str(loc[0])) if model is not None and len(loc) == 1 else None
    return f"; {field.description}" if field is not None and field.description else ""


def _shown(value: Any) -> str:
    """A number as a message shows it: short (a sent value may have thousands of digits)."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _json_kind(value: Any) -> str:
    """The JSON name of ``value``'s type: what a worker's author sent, in the words of the spec."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
