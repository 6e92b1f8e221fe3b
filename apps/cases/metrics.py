"""The Orchestrator's Prometheus series (multiprocess-safe; see aiops.bootstrap)."""

import math

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

# One series of rejected writes for every kind; aiops.idempotency counts its own kind in it.
from aiops.metrics import conflict_total as conflict_total

case_transition_total = Counter(
    "case_transition_total", "Case state transitions", ["event", "from", "to"]
)
outbox_published_total = Counter("outbox_published_total", "Events relayed to every sink")
WINDOW_HOURS = 24  # the outcome gauges' window (OutcomeCollector)
# Observed on each transition: how long the case stayed in the state it leaves.
case_state_duration_seconds = Histogram(
    "case_state_duration_seconds",
    "Time a case spent in a state, observed when it leaves it",
    ["state"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600),
)
verify_overrides_total = Counter(
    "verify_overrides_total",
    "Failed verifications a person accepted (the change kept): a false-positive signal",
)
handler_failures_total = Counter(
    "event_handler_failures_total", "Subscriber attempts that raised", ["subscriber"]
)


class OutcomeCollector:
    """The loop's outcomes over the last 24 hours, read from the timeline at scrape time
    (one grouped query on its (event, created_at) index; apps.cases.outcomes), so they are
    right whichever process wrote them. Registered through settings.METRICS_COLLECTORS."""

    def collect(self):
        from datetime import timedelta

        from django.utils import timezone

        from apps.cases.outcomes import outcome_counts

        counts = outcome_counts(since=timezone.now() - timedelta(hours=WINDOW_HOURS))
        rate = counts.success_rate
        yield GaugeMetricFamily(
            "remediation_success_ratio_24h",
            "Changes closed by a passing verification / changes that ended, last 24 h "
            "(NaN: none ended)",
            value=math.nan if rate is None else rate,
        )
        changes = GaugeMetricFamily(
            "remediation_changes_24h", "Changes that ended in the last 24 h", labels=["outcome"]
        )
        changes.add_metric(["succeeded"], counts.succeeded)
        changes.add_metric(["failed"], counts.failed)
        yield changes
        yield GaugeMetricFamily(
            "rollbacks_24h", "Runs that ran their rollback steps, last 24 h", value=counts.rollbacks
        )
        yield GaugeMetricFamily(
            "verify_overrides_24h",
            "Failed verifications a person accepted, last 24 h",
            value=counts.overrides,
        )
        parks = GaugeMetricFamily("parks_24h", "Cases parked in the last 24 h", labels=["reason"])
        for reason, n in counts.parks_by_reason.items():
            parks.add_metric([reason], n)
        yield parks


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
