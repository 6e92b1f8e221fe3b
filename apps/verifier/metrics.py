"""The Verifier's Prometheus series."""

from prometheus_client import Counter

verify_checks_total = Counter(
    "verify_checks_total", "Checks judged by the Verifier", ["result", "dry_run"]
)
verify_results_total = Counter(
    "verify_results_total", "Verifications of a case, by outcome", ["passed"]
)
