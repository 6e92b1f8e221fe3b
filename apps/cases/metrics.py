"""The Orchestrator's Prometheus series (multiprocess-safe; see aiops.bootstrap)."""

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

# One series of rejected writes for every kind; aiops.idempotency counts its own kind in it.
from aiops.metrics import conflict_total as conflict_total

case_transition_total = Counter(
    "case_transition_total", "Case state transitions", ["event", "from", "to"]
)
outbox_published_total = Counter("outbox_published_total", "Events relayed to every sink")
handler_failures_total = Counter(
    "event_handler_failures_total", "Subscriber attempts that raised", ["subscriber"]
)


class OutboxCollector:
    """Backlog and publish lag read from the database at scrape time: right in any process.

    Registered by /metrics through settings.METRICS_COLLECTORS."""

    def collect(self):
        from apps.cases.selectors import outbox_backlog

        backlog, lag = outbox_backlog()
        yield GaugeMetricFamily("outbox_backlog", "Outbox events not yet published", value=backlog)
        yield GaugeMetricFamily(
            "outbox_publish_lag_seconds", "Age of the oldest unpublished outbox event", value=lag
        )
