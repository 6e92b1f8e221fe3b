"""The Sensor's Prometheus series."""

from prometheus_client import Counter, Histogram

ingest_points_total = Counter(
    "ingest_points_total", "Points accepted by an ingestion endpoint", ["kind"]
)
ingest_rejected_total = Counter(
    "ingest_rejected_total", "Ingestion requests rejected for invalid points", ["kind"]
)
ingest_seconds = Histogram(
    "ingest_request_seconds",
    "Time to validate and store one ingestion request",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
