"""The Orchestrator's Prometheus series (multiprocess-safe; see settings)."""

from prometheus_client import Counter

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
