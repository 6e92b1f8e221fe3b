from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

gate_decisions_total = Counter(
    "gate_decisions_total", "Gate decisions, by outcome and kind", ["decision", "kind"]
)
gate_decision_latency_seconds = Histogram(
    "gate_decision_latency_seconds",
    "Time to evaluate a plan against the gate policy",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
kill_switch_flips_total = Counter(
    "kill_switch_flips_total", "Kill switch flips, by the position it was flipped to", ["to"]
)


class KillSwitchCollector:
    """The kill switch's position, read from the database at scrape time (registered by
    /metrics through settings.METRICS_COLLECTORS)."""

    def collect(self):
        from apps.gate.selectors import kill_switch

        yield GaugeMetricFamily(
            "kill_switch_engaged",
            "1 while the kill switch stops all automated execution",
            value=1 if kill_switch().engaged else 0,
        )
