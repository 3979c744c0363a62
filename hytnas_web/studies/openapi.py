"""The OpenAPI 3.1 description of the evaluation worker API, served at ``/api/v1/openapi.json``.

Nothing in it is written twice: the paths come from the URLconf, each operation from its view's
``Operation``, every body's schema from its pydantic model, and the refusals from the views' table
of domain errors, so the document and the behaviour cannot drift apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.urls import URLPattern
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from hytnas_web.studies import urls_api
from hytnas_web.studies.services.api_payloads import BodyTooLarge, ErrorResponse, InvalidPayload
from hytnas_web.studies.views_api import OPERATIONS, REFUSALS, TOKEN_REFUSED, Operation

REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_TYPES: dict[type[Any], type[Any]] = {
    IntConverter: int,
    UUIDConverter: uuid.UUID,
    StringConverter: str,
    SlugConverter: str,
    PathConverter: str,
}
DESCRIPTION = (
    "Evaluation workers on other machines claim pending evaluations of running `remote` studies "
    "(the torch measurement) or, with `evaluator: external`, of `external` studies (the user's own "
    "evaluation, e.g. through `search_engine.client`) under a lease, extend the lease while they "
    "measure, and report each evaluation's objectives (a list in the claim's order, or an object by "
    "objective name), per-stage latency, metrics (only the declared names, for an external study) "
    "and device, or its failure. A claim for remote work may list the worker's `runtimes`: work of a "
    "study measured in another runtime stays pending, and the answer's `refused` says why. "
    "A lease that runs out returns its "
    "evaluations to the pool. The same report sent twice is recorded once; a report for an "
    "evaluation that another lease reported is refused with 409."
)


def openapi_document(server_url: str) -> dict[str, Any]:
    """The API description, with ``server_url`` (…/api/v1/) as its server."""
    routes = [(openapi_path(pattern), pattern) for pattern in urls_api.urlpatterns]
    models = _models(OPERATIONS[pattern.callback] for _, pattern in routes)
    _, definitions = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    return {
        "openapi": "3.1.0",
        "info": {"title": "HyT-NAS Studio evaluation worker API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A worker token made on the Worker tokens page (per study or per worker).",
                }
            },
            "schemas": definitions["$defs"],
        },
        "paths": {
            path: {OPERATIONS[p.callback].method.lower(): _operation(OPERATIONS[p.callback], p)}
            for path, p in routes
        },
    }


def openapi_path(pattern: URLPattern) -> str:
    """``leases/<uuid:lease_id>/extend`` -> ``/leases/{lease_id}/extend``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """Where the document keeps ``model``'s schema."""
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _models(operations: Iterable[Operation]) -> list[type[BaseModel]]:
    """Every model an operation sends or receives, and the error body."""
    found: set[type[BaseModel]] = {ErrorResponse}
    for operation in operations:
        found.update(model for _, model in operation.answers.values() if model is not None)
        if operation.body is not None:
            found.add(operation.body)
    return sorted(found, key=lambda model: model.__name__)


def _operation(operation: Operation, pattern: URLPattern) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": operation.summary}
    if not operation.needs_token:
        described["security"] = []
    converters = pattern.pattern.converters
    if converters:
        described["parameters"] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": TypeAdapter(_PATH_TYPES[type(converter)]).json_schema(),
            }
            for name, converter in converters.items()
        ]
    if operation.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_ref(operation.body)}},
        }
    responses = {status: _response(meaning, model) for status, (meaning, model) in operation.answers.items()}
    responses.update(_refusals(operation))
    described["responses"] = {str(status): responses[status] for status in sorted(responses)}
    return described


def _refusals(operation: Operation) -> dict[int, dict[str, Any]]:
    """Each error status the operation may answer, with every reason for it."""
    kinds = ((InvalidPayload, BodyTooLarge) if operation.body is not None else ()) + operation.refusals
    meanings: dict[int, list[str]] = {401: [TOKEN_REFUSED]} if operation.needs_token else {}
    for kind in sorted(kinds, key=lambda kind: REFUSALS[kind][0]):
        status, meaning = REFUSALS[kind]
        meanings.setdefault(status, []).append(meaning)
    return {status: _response(" ".join(texts), ErrorResponse) for status, texts in meanings.items()}


def _response(meaning: str, model: type[BaseModel] | None) -> dict[str, Any]:
    if model is None:
        return {"description": meaning}
    return {"description": meaning, "content": {"application/json": {"schema": schema_ref(model)}}}
