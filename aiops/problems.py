"""RFC 9457 problem details: every API error leaves through `exception_handler` below.

Services raise `Problem` subclasses (domain errors) or DRF exceptions; the handler gives
each a stable `type` URI, a status and extra members, rendered as application/problem+json.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_BASE = "https://aiops.dev/problems/"


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"


PROBLEM_MEDIA_TYPE = ProblemJSONRenderer.media_type


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
