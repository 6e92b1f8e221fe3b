from prometheus_client import Counter, Histogram

gate_decisions_total = Counter(
    "gate_decisions_total", "Gate decisions, by outcome and kind", ["decision", "kind"]
)
gate_decision_latency_seconds = Histogram(
    "gate_decision_latency_seconds",
    "Time to evaluate a plan against the gate policy",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
