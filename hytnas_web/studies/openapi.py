"""The OpenAPI 3.1 description of the evaluation worker API, served at ``/api/v1/openapi.json``.

Written out by hand next to the views it describes, with the bounds taken from the same constants
the payload checks use, so the document and the behaviour cannot drift apart on limits.
"""

from __future__ import annotations

from typing import Any

from hytnas_web.studies.services.api_payloads import (
    DEFAULT_LEASE_SECONDS,
    LEASE_SECONDS,
    MAX_BODY_BYTES,
    MAX_CLAIM,
    MAX_DEPTH,
    MAX_DEVICE_KEYS,
    MAX_METRICS,
    MAX_STAGES,
    MAX_TEXT,
)

_ERROR = {"$ref": "#/components/schemas/Error"}


def _response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body = schema or _ERROR
    return {"description": description, "content": {"application/json": {"schema": body}}}


def _errors(*codes: int) -> dict[str, Any]:
    meanings = {
        400: (
            "The payload breaks a rule (`field` names the value), is not JSON, or nests arrays and "
            f"objects deeper than {MAX_DEPTH} levels."
        ),
        401: "Missing, unknown or revoked token.",
        403: "The token does not give access to this study, or the lease belongs to another token.",
        404: "No such evaluation or lease.",
        409: "Conflict: a late report (another lease reported it), or a lease that lost its work.",
        413: f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.",
    }
    return {str(code): _response(meanings[code]) for code in codes}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_LEASE_SECONDS = {
    "type": "integer",
    "minimum": LEASE_SECONDS[0],
    "maximum": LEASE_SECONDS[1],
    "default": DEFAULT_LEASE_SECONDS,
    "description": "How long the worker holds the work unless it extends the lease.",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "What was wrong, in words."},
            "field": {"type": ["string", "null"], "description": "The offending value, as a dotted path."},
            "status": {"type": "string", "enum": ["rejected"]},
        },
    },
    "Device": {
        "type": "object",
        "maxProperties": MAX_DEVICE_KEYS,
        "description": "The measuring machine: name, hostname, system, machine, processor, cpu_count, "
        "memory_mb, python, torch, ... (strings of at most 200 characters, numbers, booleans).",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
    "Lease": {
        "type": "object",
        "required": ["id", "expires_at", "lease_seconds"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "expires_at": {"type": "string", "format": "date-time"},
            "lease_seconds": {"type": "integer", "description": "Seconds left."},
        },
    },
    "Objective": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "direction": {"type": "string", "enum": ["min", "max"]},
            "unit": {"type": "string"},
        },
    },
    "WorkItem": {
        "type": "object",
        "required": ["id", "study", "key", "architecture", "evaluator", "objectives"],
        "properties": {
            "id": {"type": "integer", "description": "The evaluation to report on."},
            "study": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "key": {"type": "string", "description": "The architecture's stable key in the study's space."},
            "architecture": {"type": "object", "description": "The design variables of the HyT-NAS space."},
            "evaluator": {
                "type": "object",
                "description": "The evaluator to build (search_engine registry name and parameters).",
                "properties": {"name": {"type": "string"}, "params": {"type": "object"}},
            },
            "objectives": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Objective"},
                "description": "The order in which a report gives its objective values.",
            },
        },
    },
    "ClaimRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_evaluations": {"type": "integer", "minimum": 1, "maximum": MAX_CLAIM, "default": 1},
            "lease_seconds": _LEASE_SECONDS,
            "device": {"$ref": "#/components/schemas/Device"},
            "study": {"type": "integer", "description": "Only work of this study."},
        },
    },
    "Claim": {
        "type": "object",
        "required": ["lease", "evaluations", "retry_after_seconds"],
        "properties": {
            "lease": {"oneOf": [{"$ref": "#/components/schemas/Lease"}, {"type": "null"}]},
            "evaluations": {"type": "array", "items": {"$ref": "#/components/schemas/WorkItem"}},
            "retry_after_seconds": {
                "type": "integer",
                "description": "When nothing was claimed: how long to wait before asking again.",
            },
        },
    },
    "ExtendRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"lease_seconds": _LEASE_SECONDS},
    },
    "Extended": {
        "type": "object",
        "properties": {
            "lease": {"$ref": "#/components/schemas/Lease"},
            "evaluations": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The pending evaluations the lease still holds.",
            },
        },
    },
    "Report": {
        "type": "object",
        "additionalProperties": False,
        "required": ["lease", "status"],
        "properties": {
            "lease": {"type": "string", "format": "uuid", "description": "The lease the claim returned."},
            "status": {"type": "string", "enum": ["done", "failed"]},
            "objectives": {
                "type": "array",
                "items": {"type": "number"},
                "description": "Done only: one finite value per objective, in the claim's order and units.",
            },
            "stage_latency": {
                "type": "object",
                "maxProperties": MAX_STAGES,
                "additionalProperties": {"type": "number", "minimum": 0},
                "description": "Median ms per stage: backbone, neck, head.",
            },
            "metrics": {
                "type": "object",
                "maxProperties": MAX_METRICS,
                "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
                "description": "Parameters, multiply-adds, latency percentiles, peak memory, ...",
            },
            "error": {"type": "string", "maxLength": MAX_TEXT, "description": "Failed only: why."},
            "seconds": {"type": "number", "minimum": 0, "description": "Wall time of the evaluation."},
            "device": {"$ref": "#/components/schemas/Device"},
        },
    },
    "Recorded": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["recorded", "already_recorded"]},
            "evaluation": {"type": "integer"},
        },
    },
}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The API description, with ``server_url`` (…/api/v1/) as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HyT-NAS Studio evaluation worker API",
            "version": "1",
            "description": "Evaluation workers on other machines claim pending evaluations of running "
            "`remote` studies under a lease, extend the lease while they measure, and report each "
            "evaluation's objectives, per-stage latency, metrics and device, or its failure. A lease "
            "that runs out returns its evaluations to the pool. The same report sent twice is recorded "
            "once; a report for an evaluation that another lease reported is refused with 409.",
        },
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
            "schemas": SCHEMAS,
        },
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This description.",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
            "/worker": {
                "get": {
                    "summary": "Check a token: its name and scope.",
                    "responses": {
                        "200": {"description": "The token is active."},
                        **_errors(401),
                    },
                }
            },
            "/claims": {
                "post": {
                    "summary": "Claim pending evaluations under a new lease.",
                    "requestBody": _body({"$ref": "#/components/schemas/ClaimRequest"}),
                    "responses": {
                        "200": _response(
                            "The work claimed (maybe none).", {"$ref": "#/components/schemas/Claim"}
                        ),
                        **_errors(400, 401, 403, 413),
                    },
                }
            },
            "/leases/{lease_id}/extend": {
                "post": {
                    "summary": "Extend a lease while its evaluations are measured.",
                    "parameters": [
                        {
                            "name": "lease_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "requestBody": _body({"$ref": "#/components/schemas/ExtendRequest"}),
                    "responses": {
                        "200": _response("The new end.", {"$ref": "#/components/schemas/Extended"}),
                        **_errors(400, 401, 403, 404, 409, 413),
                    },
                }
            },
            "/evaluations/{evaluation_id}/report": {
                "post": {
                    "summary": "Report one evaluation's measurement or failure.",
                    "parameters": [
                        {
                            "name": "evaluation_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "requestBody": _body({"$ref": "#/components/schemas/Report"}),
                    "responses": {
                        "201": _response("Recorded.", {"$ref": "#/components/schemas/Recorded"}),
                        "200": _response(
                            "This lease had already reported it: recorded once.",
                            {"$ref": "#/components/schemas/Recorded"},
                        ),
                        **_errors(400, 401, 403, 404, 409, 413),
                    },
                }
            },
        },
    }
