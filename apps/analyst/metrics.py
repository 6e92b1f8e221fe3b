"""The Analyst's Prometheus series."""

from prometheus_client import Counter, Histogram

alerts_total = Counter(
    "alertmanager_alerts_total", "Alerts received from Alertmanager, by outcome", ["outcome"]
)
alerts_rejected_total = Counter(
    "alertmanager_webhooks_rejected_total", "Alertmanager webhooks rejected as invalid"
)
webhook_seconds = Histogram(
    "alertmanager_webhook_seconds",
    "Time to validate and store one Alertmanager webhook",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
findings_total = Counter(
    "analysis_findings_total",
    "Findings opened by the Analyst, by source and kind",
    ["source", "kind"],
)
pass_seconds = Histogram(
    "analysis_pass_seconds",
    "Duration of one analysis pass",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
