"""Health, readiness and the Prometheus endpoint (no auth: scraped by machines)."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from aiops.metrics import readiness_failures_total


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    for check, value in checks.items():
        if value != "ok":  # probes call this every few seconds: the alert reads the rate
            readiness_failures_total.labels(check=check).inc()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; say which
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    from aiops.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def metrics(request):
    """Counters summed over every process of the data dir, then settings.METRICS_COLLECTORS."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for path in settings.METRICS_COLLECTORS:
        registry.register(import_string(path)())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def not_found(request, exception=None):
    """Unknown URLs answer in problem+json like every other API error."""
    return _problem(request, 404, "not-found", "Not found", f"No endpoint at {request.path}.")


def server_error(request):
    return _problem(request, 500, "internal-error", "Internal error", "See the server log.")


def _problem(request, status: int, slug: str, title: str, detail: str):
    from aiops.problems import PROBLEM_MEDIA_TYPE, problem_body

    body = problem_body(
        status_code=status, slug=slug, title=title, detail=detail, instance=request.path
    )
    return JsonResponse(body, status=status, content_type=PROBLEM_MEDIA_TYPE)
