"""Prometheus series shared by every app (multiprocess-safe; see aiops.bootstrap)."""

from prometheus_client import Counter

conflict_total = Counter(
    "conflict_total", "Rejected writes by kind (illegal, stale, idempotency)", ["kind"]
)
idempotent_replay_total = Counter(
    "idempotent_replay_total", "Requests answered from a stored Idempotency-Key response"
)
readiness_failures_total = Counter(
    "readiness_check_failures_total", "/readyz checks that failed, by check", ["check"]
)


def serve_process_metrics() -> None:
    """Serve this process's counters on settings.WORKER_METRICS_PORT (any path; 0: not).

    For a process with no /metrics of its own (a Celery worker or beat, the relay process):
    summed over the processes sharing its multiprocess dir (a worker's pool); the scrape-time
    gauges (settings.METRICS_COLLECTORS) stay with the web's /metrics. Prometheus's `up` of
    this target says the process is alive.
    """
    from django.conf import settings

    if not settings.WORKER_METRICS_PORT:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    start_http_server(settings.WORKER_METRICS_PORT, registry=registry)
