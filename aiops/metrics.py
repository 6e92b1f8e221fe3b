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
