"""Request id, case id and trace id on every log line of a request or task; the request size
limit; the ops endpoints answered before the host check."""

import contextvars
import json
import logging
import re
import uuid

from django.conf import settings
from django.http import HttpResponse

from aiops.problems import PROBLEM_MEDIA_TYPE, problem_body

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
case_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("case_id", default="-")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")
# W3C Trace Context: version-traceid-parentid-flags; the trace id joins our log lines to the
# caller's trace (a proxy or a client with OpenTelemetry).
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller (or makes one) and echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        case_token = case_id_var.set("-")
        trace = TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
        trace_token = trace_id_var.set(trace.group(1) if trace else "-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            case_id_var.reset(case_token)
            trace_id_var.reset(trace_token)
        response["X-Request-ID"] = request_id
        return response


class OpsEndpointsMiddleware:
    """Answers /healthz, /readyz and /metrics before Django checks the Host header.

    Kubelet probes and Prometheus address a pod by its IP, which no DJANGO_ALLOWED_HOSTS
    names (CommonMiddleware would answer 400); these answers build no URL from the host, so
    the check protects nothing here. The rest of the site keeps it.
    """

    def __init__(self, get_response):
        from aiops import ops

        self.get_response = get_response
        self.views = {"/healthz": ops.healthz, "/readyz": ops.readyz, "/metrics": ops.metrics}

    def __call__(self, request):
        view = self.views.get(request.path_info)
        return view(request) if view else self.get_response(request)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        record.case_id = case_id_var.get()
        record.trace_id = trace_id_var.get()
        return True


class RequestSizeLimitMiddleware:
    """Refuses a body whose Content-Length exceeds DATA_UPLOAD_MAX_MEMORY_SIZE with 413
    application/problem+json, before anything reads it. Django applies that limit only where
    `request.body` or a form is read; DRF's parsers read the stream and would take any size.
    A body without Content-Length is read as empty by the WSGI layer, so this covers all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django reads a malformed length as no body
        if limit is not None and size > limit:
            body = problem_body(
                status_code=413,
                slug="request-too-large",
                title="The request body is too large",
                detail=f"At most {limit} bytes per request body; this one has {size}.",
                instance=request.path,
                max_bytes=limit,
            )
            return HttpResponse(json.dumps(body), status=413, content_type=PROBLEM_MEDIA_TYPE)
        return self.get_response(request)
