"""The Orchestrator's Prometheus series (multiprocess-safe; see settings)."""

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

case_transition_total = Counter(
    "case_transition_total", "Case state transitions", ["event", "from", "to"]
)
conflict_total = Counter(
    "conflict_total", "Rejected writes by kind (illegal, stale, idempotency)", ["kind"]
)
idempotent_replay_total = Counter(
    "idempotent_replay_total", "Requests answered from a stored Idempotency-Key response"
)
outbox_published_total = Counter("outbox_published_total", "Events relayed to every sink")
handler_failures_total = Counter(
    "event_handler_failures_total", "Subscriber attempts that raised", ["subscriber"]
)


class OutboxCollector:
    """Backlog and publish lag read from the database at scrape time: right in any process."""

    def collect(self):
        from apps.cases.selectors import outbox_backlog

        backlog, lag = outbox_backlog()
        yield GaugeMetricFamily("outbox_backlog", "Outbox events not yet published", value=backlog)
        yield GaugeMetricFamily(
            "outbox_publish_lag_seconds", "Age of the oldest unpublished outbox event", value=lag
        )
