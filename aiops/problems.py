"""RFC 9457 problem details: every API error leaves through `exception_handler` below.

Services raise `Problem` subclasses (domain errors) or DRF exceptions; the handler gives
each a stable `type` URI, a status and extra members, rendered as application/problem+json.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_BASE = "https://aiops.dev/problems/"


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"


PROBLEM_MEDIA_TYPE = ProblemJSONRenderer.media_type
log = logging.getLogger(__name__)


class Problem(Exception):
    """A domain error with its HTTP status, a stable type slug and extra members."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class BadRequest(Problem):
    status, slug, title = 400, "invalid-request", "The request is invalid"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


_DRF_SLUGS = {
    exceptions.ParseError: ("malformed-request", "Malformed request body"),
    exceptions.ValidationError: ("invalid-request", "The request is invalid"),
    exceptions.NotAuthenticated: ("not-authenticated", "Authentication required"),
    exceptions.AuthenticationFailed: ("authentication-failed", "Authentication failed"),
    exceptions.PermissionDenied: ("forbidden", "Permission denied"),
    exceptions.NotFound: ("not-found", "Not found"),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not-acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type"),
    exceptions.Throttled: ("throttled", "Too many requests"),
}


def problem_body(*, status_code: int, slug: str, title: str, detail, instance: str = "", **extra):
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status_code}
    if isinstance(detail, str):
        body["detail"] = detail
    else:
        body["detail"] = "See errors."
        body["errors"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def _connection_lost(exc) -> bool:
    """An OperationalError/InterfaceError of the connection itself (server gone, restarting,
    refusing), not of the statement (a deadlock, a serialization failure: those are bugs
    or races the caller's code handles)."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    return any(
        marker in text
        for marker in (
            "connection",
            "server closed",
            "terminating",
            "shutting down",
            "starting up",
            "could not connect",
            "no such file",
        )
    )


def exception_handler(exc, context):
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, Problem):
        from rest_framework.response import Response

        body = problem_body(
            status_code=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            instance=instance,
            **exc.extra,
        )
        return _as_problem(Response(body, status=exc.status))
    if isinstance(exc, DatabaseError) and _connection_lost(exc):
        # PostgreSQL restarting or out of reach: the transaction rolled back whole; the
        # client may retry (with its Idempotency-Key, to be safe).
        from django.db import connection
        from rest_framework.response import Response

        log.warning("database unavailable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        body = problem_body(
            status_code=503,
            slug="database-unavailable",
            title="The database is unavailable",
            detail="Nothing was written. Retry shortly (with the same Idempotency-Key).",
            instance=instance,
        )
        response = _as_problem(Response(body, status=503))
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    slug, title = next(
        (value for kind, value in _DRF_SLUGS.items() if isinstance(exc, kind)),
        ("error", "Error"),
    )
    detail = (
        response.data.get("detail", response.data)
        if isinstance(response.data, dict)
        else response.data
    )
    if isinstance(detail, exceptions.ErrorDetail):
        detail = str(detail)
    response.data = problem_body(
        status_code=response.status_code, slug=slug, title=title, detail=detail, instance=instance
    )
    return _as_problem(response)


def _as_problem(response):
    # DRF keeps the negotiated renderer (JSON or browsable); only the media type changes.
    response.content_type = ProblemJSONRenderer.media_type
    return response


# The OpenAPI side: every error above leaves as this body, so the published schema declares
# it for each status an operation can answer with (schemathesis checks both, make fuzz).
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; some problems add members (e.g. `errors`).",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"description": "Per-field or per-item errors of an invalid request"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
_ERRORS = {
    400: "Invalid or malformed request",
    401: "Authentication required or failed",
    403: "The caller's roles do not allow this",
    404: "No such object",
    406: "The Accept header names no media type served",
    409: "Conflict with the object's state, or an Idempotency-Key still in flight",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "Unsupported Content-Type",
    422: "Idempotency-Key reused with another request",
    429: "Too many requests",
}


def error_statuses(method: str, operation: dict) -> list[int]:
    """The error statuses an operation can answer with: any may 401/403/406/429 (auth, content
    negotiation, throttling); a path parameter or a body naming an object can miss (404);
    query parameters or a body can be invalid (400); a body is parsed (413, 415) and its
    Idempotency-Key checked (409, 422); an If-Match can be stale (412)."""
    params = operation.get("parameters", [])
    where = {param["in"] for param in params}
    has_body = "requestBody" in operation
    statuses = {401, 403, 406, 429}
    if "path" in where or has_body:
        statuses.add(404)
    if "query" in where or has_body:
        statuses.add(400)
    if has_body:
        statuses |= {409, 413, 415, 422}
    if any(param["in"] == "header" and param["name"] == "If-Match" for param in params):
        statuses.add(412)
    return sorted(statuses)


def add_problem_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Problem schema, and a problem+json response
    for each error status of every operation that does not document that status itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in error_statuses(method, operation):
                responses.setdefault(str(code), {"description": _ERRORS[code], "content": content})
    return result
