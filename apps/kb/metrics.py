"""The embedding backlog, read from the database at scrape time (right in any process).

Under a sustained load the embedding worker can fall behind the loop: each closed case is a
document to embed, and its chunks are searchable by text meanwhile, by meaning only once
embedded. Registered by /metrics through settings.METRICS_COLLECTORS."""

from prometheus_client.core import GaugeMetricFamily


class EmbeddingBacklogCollector:
    def collect(self):
        from apps.kb.services import pending_chunks

        yield GaugeMetricFamily(
            "kb_chunks_pending",
            "Knowledge-base chunks without an embedding of the current model",
            value=pending_chunks().count(),
        )
