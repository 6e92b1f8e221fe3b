"""Thin Celery tasks of the Librarian (queue "kb", taken by the execution workers)."""

from celery import shared_task

from apps.kb import services


@shared_task(ignore_result=True)
def embed_chunks(doc_ids: list[int] | None = None) -> int:
    """Embed the chunks of these documents (all, without ids) that have no embedding of the
    current model; queued on commit by every ingest. Idempotent: a rerun finds nothing."""
    return services.chunks_embed(doc_ids=doc_ids)
