"""The JSON API evaluation workers use: claim work with a lease, extend it, report results.

HTTP only: authentication, body checks and status codes. Each view declares one ``Operation`` (its
method, body model, answers and the refusals its service may raise); ``worker_api`` checks a request
against it and ``studies.openapi`` describes the API from the same declarations. What a claim or a
report does lives in ``services.remote_work``; the models in ``services.api_payloads``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel

from hytnas_web.studies.models import Lease, WorkerToken
from hytnas_web.studies.services import authenticate_token
from hytnas_web.studies.services.api_payloads import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    BodyTooLarge,
    ClaimRequest,
    ClaimResponse,
    ErrorResponse,
    ExtendRequest,
    ExtendResponse,
    InvalidPayload,
    LeaseView,
    ReportRequest,
    ReportResponse,
    TokenView,
    WorkerResponse,
    checked,
    parse_body,
)
from hytnas_web.studies.services.remote_work import (
    RETRY_AFTER_SECONDS,
    Forbidden,
    LateReport,
    LeaseLost,
    NotFound,
    Refused,
    UnknownLease,
    claim_evaluations,
    extend_lease,
    report_evaluation,
)

Handler = Callable[..., JsonResponse]

#: The one table from the errors services raise to HTTP statuses, with what each means to a worker.
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    InvalidPayload: (
        400,
        "The payload breaks a rule (`field` names the value), is not JSON, or nests arrays and "
        f"objects deeper than {MAX_DEPTH} levels.",
    ),
    UnknownLease: (400, "The report names a lease that does not exist (`field` is `lease`)."),
    BodyTooLarge: (413, f"The body is larger than {MAX_BODY_BYTES // 1024} KiB."),
    Forbidden: (403, "The token does not give access to this study, or the lease belongs to another token."),
    NotFound: (404, "No such evaluation or lease."),
    LeaseLost: (409, "The lease lost its work: it expired and another worker has it, or all was reported."),
    LateReport: (409, "A late report: another lease reported the evaluation."),
}
TOKEN_REFUSED = "Missing, unknown or revoked token."


@dataclass(frozen=True)
class Operation:
    """One route's method, body, answers and refusals: what is checked and what is documented.

    ``answers`` maps a status to what it means and the model of its body; ``refusals`` lists the
    errors beyond a bad body (``InvalidPayload``, ``BodyTooLarge``) and a bad token. A body is
    checked against ``body`` before the handler runs, unless ``body_checked_by_service``: the
    report's rules depend on its study, known once the service has found the evaluation.
    """

    method: str
    answers: Mapping[int, tuple[str, type[BaseModel] | None]]
    body: type[BaseModel] | None = None
    refusals: tuple[type[Exception], ...] = ()
    needs_token: bool = True
    body_checked_by_service: bool = False
    summary: str = ""


#: Every API view's declaration, read by the OpenAPI document.
OPERATIONS: dict[Callable[..., JsonResponse], Operation] = {}


def _answer(model: BaseModel, status: int = 200) -> JsonResponse:
    # An error body has ``status`` only when it was set: a refusal on the state of things.
    body = model.model_dump(mode="json", exclude_unset=isinstance(model, ErrorResponse))
    return JsonResponse(body, status=status)


def _refusal(exc: InvalidPayload | Refused) -> JsonResponse:
    """The error body and status of a refusal, found by the nearest class in ``REFUSALS``."""
    status = next(REFUSALS[kind][0] for kind in type(exc).__mro__ if kind in REFUSALS)
    if isinstance(exc, Refused):
        return _answer(ErrorResponse(error=exc.message, field=exc.field, status="rejected"), status)
    return _answer(ErrorResponse(error=exc.message, field=exc.field), status)


def _bearer_token(request: HttpRequest) -> WorkerToken | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return authenticate_token(secret.strip()) if scheme.lower() == "bearer" else None


def worker_api(operation: Operation) -> Callable[[Handler], Callable[..., JsonResponse]]:
    """Wrap a handler ``(request, token, body, **kwargs)``: method, token and body checked first."""

    def decorate(handler: Handler) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
            if request.method != operation.method:
                response = _answer(ErrorResponse(error=f"use {operation.method}", field=None), 405)
                response["Allow"] = operation.method
                return response
            token = _bearer_token(request) if operation.needs_token else None
            if operation.needs_token and token is None:
                message = "missing, unknown or revoked token: send 'Authorization: Bearer <token>'"
                response = _answer(ErrorResponse(error=message, field=None), 401)
                response["WWW-Authenticate"] = 'Bearer realm="hytnas-workers"'
                return response
            try:
                data = parse_body(request.body) if operation.body is not None else {}
                if operation.body is not None and not operation.body_checked_by_service:
                    return handler(request, token, checked(operation.body, data), **kwargs)
                return handler(request, token, data, **kwargs)
            except (InvalidPayload, Refused) as exc:
                return _refusal(exc)

        summary = (handler.__doc__ or "").strip().splitlines()[0]
        OPERATIONS[view] = replace(operation, summary=summary)
        return view

    return decorate


def _lease_view(lease: Lease) -> LeaseView:
    seconds = max(0, round((lease.expires_at - timezone.now()).total_seconds()))
    return LeaseView(id=lease.id, expires_at=lease.expires_at, lease_seconds=seconds)


@worker_api(Operation("GET", {200: ("The OpenAPI document.", None)}, needs_token=False))
def openapi(request: HttpRequest, token: None, body: dict[str, Any]) -> JsonResponse:
    """This description (no token needed)."""
    from hytnas_web.studies.openapi import openapi_document  # it reads OPERATIONS, filled here

    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1/")))


@worker_api(Operation("GET", {200: ("The token is active.", WorkerResponse)}))
def whoami(request: HttpRequest, token: WorkerToken, body: dict[str, Any]) -> JsonResponse:
    """Check a token: its name and scope, before the worker claims anything."""
    scope = TokenView(name=token.name, prefix=token.prefix, study=token.study_id)
    return _answer(WorkerResponse(token=scope, server_time=timezone.now()))


@worker_api(
    Operation(
        "POST", {200: ("The work claimed (maybe none).", ClaimResponse)}, ClaimRequest, refusals=(Forbidden,)
    )
)
def claims(request: HttpRequest, token: WorkerToken, body: ClaimRequest) -> JsonResponse:
    """Claim pending evaluations under a new lease."""
    claim = claim_evaluations(token, body)
    lease = _lease_view(claim.lease) if claim.lease is not None else None
    retry = RETRY_AFTER_SECONDS
    answer = ClaimResponse(
        lease=lease,
        evaluations=claim.evaluations,
        retry_after_seconds=retry,
        studies_running=claim.studies_running,
        refused=claim.refused,
    )
    return _answer(answer)


@worker_api(
    Operation(
        "POST",
        {200: ("The new end.", ExtendResponse)},
        ExtendRequest,
        refusals=(Forbidden, NotFound, LeaseLost),
    )
)
def extend(request: HttpRequest, token: WorkerToken, body: ExtendRequest, lease_id: Any) -> JsonResponse:
    """Extend a lease while its evaluations are measured."""
    lease, held = extend_lease(token, lease_id, body.lease_seconds)
    return _answer(ExtendResponse(lease=_lease_view(lease), evaluations=held))


#: A report's HTTP status by what became of it.
_REPORT_STATUS = {"recorded": 201, "already_recorded": 200}


@worker_api(
    Operation(
        "POST",
        {
            201: ("Recorded.", ReportResponse),
            200: ("This lease had already reported it: recorded once.", ReportResponse),
        },
        ReportRequest,
        refusals=(Forbidden, NotFound, UnknownLease, LateReport),
        body_checked_by_service=True,
    )
)
def report(
    request: HttpRequest, token: WorkerToken, body: dict[str, Any], evaluation_id: int
) -> JsonResponse:
    """Report one evaluation's measurement or failure."""
    outcome = report_evaluation(token, evaluation_id, body)
    return _answer(ReportResponse(status=outcome, evaluation=evaluation_id), _REPORT_STATUS[outcome])
