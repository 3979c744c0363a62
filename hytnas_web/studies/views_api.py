"""The JSON API evaluation workers use: claim work with a lease, extend it, report results.

HTTP only: authentication, body parsing and status codes. What a claim or a report does lives in
``services.remote_work``; the rules a payload must meet in ``services.api_payloads``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from hytnas_web.studies.models import Lease, WorkerToken
from hytnas_web.studies.openapi import openapi_document
from hytnas_web.studies.services import authenticate_token
from hytnas_web.studies.services.api_payloads import (
    BodyTooLarge,
    PayloadError,
    parse_body,
    parse_claim,
    parse_lease_seconds,
)
from hytnas_web.studies.services.remote_work import (
    RETRY_AFTER_SECONDS,
    Refused,
    claim_evaluations,
    extend_lease,
    report_evaluation,
)

logger = logging.getLogger(__name__)

ApiHandler = Callable[..., JsonResponse]


def _error(http_status: int, message: str, field: str | None = None, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, "field": field, **extra}, status=http_status)


def worker_api(method: str) -> Callable[[ApiHandler], Callable[..., JsonResponse]]:
    """Wrap a handler ``(request, token, data, **kwargs)``: method, token and body checked first."""

    def decorate(handler: ApiHandler) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
            if request.method != method:
                response = _error(405, f"use {method}")
                response["Allow"] = method
                return response
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            token = authenticate_token(secret.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                response = _error(
                    401, "missing, unknown or revoked token: send 'Authorization: Bearer <token>'"
                )
                response["WWW-Authenticate"] = 'Bearer realm="hytnas-workers"'
                return response
            try:
                data = parse_body(request.body) if method == "POST" else {}
                return handler(request, token, data, **kwargs)
            except PayloadError as exc:
                return _error(413 if isinstance(exc, BodyTooLarge) else 400, exc.message, exc.field)
            except Refused as exc:
                return _error(exc.status, exc.message, exc.field, status="rejected")

        return view

    return decorate


def _lease_json(lease: Lease) -> dict[str, Any]:
    seconds = max(0, round((lease.expires_at - timezone.now()).total_seconds()))
    return {"id": str(lease.id), "expires_at": lease.expires_at.isoformat(), "lease_seconds": seconds}


def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3.1 description of this API (no token needed)."""
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1/")))


@worker_api("GET")
def whoami(request: HttpRequest, token: WorkerToken, data: dict[str, Any]) -> JsonResponse:
    """The token's name and scope: lets a worker check its token before it claims anything."""
    return JsonResponse(
        {
            "token": {"name": token.name, "prefix": token.prefix, "study": token.study_id},
            "server_time": timezone.now().isoformat(),
        }
    )


@worker_api("POST")
def claims(request: HttpRequest, token: WorkerToken, data: dict[str, Any]) -> JsonResponse:
    """Claim a batch of pending evaluations under a new lease."""
    claim = claim_evaluations(token, parse_claim(data))
    return JsonResponse(
        {
            "lease": _lease_json(claim.lease) if claim.lease is not None else None,
            "evaluations": claim.evaluations,
            "retry_after_seconds": RETRY_AFTER_SECONDS,
        }
    )


@worker_api("POST")
def extend(request: HttpRequest, token: WorkerToken, data: dict[str, Any], lease_id: Any) -> JsonResponse:
    """Extend a lease the worker holds."""
    lease, held = extend_lease(token, lease_id, parse_lease_seconds(data))
    return JsonResponse({"lease": _lease_json(lease), "evaluations": held})


@worker_api("POST")
def report(
    request: HttpRequest, token: WorkerToken, data: dict[str, Any], evaluation_id: int
) -> JsonResponse:
    """Report one evaluation's measurement or failure."""
    status, outcome = report_evaluation(token, evaluation_id, data)
    return JsonResponse({"status": outcome, "evaluation": evaluation_id}, status=status)
