"""Librarian writes: ingesting documents (chunks replaced atomically, unchanged documents a
no-op), embedding chunks, and re-embedding after a model change."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from aiops.commit import after_commit
from aiops.prepared import prepared
from apps.kb import chunking, embedding
from apps.kb.documents import DocIn, check_document
from apps.kb.exceptions import InvalidDocuments
from apps.kb.models import KbChunk, KbDoc

log = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class Ingested:
    doc: KbDoc
    outcome: str  # CREATED, UPDATED or UNCHANGED


def doc_ingest(
    *, title: str, kind: str, body: str, services: Sequence[str] = (), source_url: str = "", actor
) -> KbDoc:
    """Store one document and its chunks in one transaction (the caller's, if it has one);
    the same document again is a no-op, a changed one (same source_url, else same title)
    replaces its chunks. Embedding is queued on commit. Raises InvalidDocuments (400)."""
    raw = {
        "title": title,
        "kind": kind,
        "body": body,
        "services": list(services),
        "source_url": source_url,
    }
    doc, errors = check_document(0, raw, max_body_chars=settings.KB_MAX_BODY_CHARS)
    if errors:
        raise InvalidDocuments.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
    return docs_ingest(docs=[doc], actor=actor)[0].doc


def docs_ingest(*, docs: list[DocIn], actor) -> list[Ingested]:
    """Store validated documents (documents.parse_documents) all or none, in one transaction;
    embedding of their new chunks is queued on commit."""
    name = actor if isinstance(actor, str) else actor.get_username()
    with transaction.atomic():
        results = [_ingest_one(doc, name) for doc in docs]
        changed = [r.doc.pk for r in results if r.outcome != UNCHANGED]
        if changed:
            after_commit(lambda: queue_embedding(changed), what="queueing embeddings")
    return results


@prepared
def _doc_locked(key):
    return KbDoc.objects.select_for_update().filter(key=key)


def _ingest_one(doc: DocIn, actor: str) -> Ingested:
    chunks = chunking.split(doc.title, doc.body, max_chars=settings.KB_CHUNK_MAX_CHARS)
    content_hash = chunking.sha256(
        "\0".join([doc.title, doc.kind, ",".join(doc.services), doc.source_url, doc.body])
    )
    fields = {
        "title": doc.title,
        "kind": doc.kind,
        "services": list(doc.services),
        "source_url": doc.source_url,
        "body": doc.body,
        "content_hash": content_hash,
        "chunk_count": len(chunks),
        "updated_by": actor,
    }
    stored = _doc_locked.first(doc.key)
    if stored is None:
        try:
            with transaction.atomic():
                stored = KbDoc.objects.create(key=doc.key, **fields)
        except IntegrityError:
            # Another request created it since: replace its version (locked) like any other.
            stored = KbDoc.objects.select_for_update().get(key=doc.key)
        else:
            _write_chunks(stored, chunks, reuse={})
            return Ingested(stored, CREATED)
    if stored.content_hash == content_hash:
        return Ingested(stored, UNCHANGED)
    # Sections that did not change keep their embedding (same text, same model).
    reuse = {
        chunk_hash: (vector, model)
        for chunk_hash, vector, model in stored.chunks.filter(embedding__isnull=False).values_list(
            "content_hash", "embedding", "model"
        )
    }
    stored.chunks.all().delete()
    for name, value in fields.items():
        setattr(stored, name, value)
    stored.save()
    _write_chunks(stored, chunks, reuse=reuse)
    return Ingested(stored, UPDATED)


def _write_chunks(doc: KbDoc, chunks: list[chunking.Chunk], *, reuse: dict) -> None:
    current = embedding.model_name()
    rows = []
    for chunk in chunks:
        vector, model = reuse.get(chunk.content_hash, (None, ""))
        if model != current:
            vector, model = None, ""
        rows.append(
            KbChunk(
                doc=doc,
                ordinal=chunk.ordinal,
                heading=chunk.heading,
                text=chunk.text,
                content_hash=chunk.content_hash,
                kind=doc.kind,
                services=list(doc.services),
                embedding=vector,
                model=model,
            )
        )
    KbChunk.objects.bulk_create(rows)


def queue_embedding(doc_ids: list[int] | None) -> None:
    """Queue the embedding task for these documents' pending chunks (None: all)."""
    from apps.kb.tasks import embed_chunks

    embed_chunks.delay(doc_ids=doc_ids)


def pending_chunks(doc_ids: Sequence[int] | None = None):
    """Chunks without an embedding of the current model (of these documents, or all)."""
    chunks = KbChunk.objects.filter(Q(embedding__isnull=True) | ~Q(model=embedding.model_name()))
    return chunks if doc_ids is None else chunks.filter(doc_id__in=doc_ids)


def chunks_embed(*, doc_ids: Sequence[int] | None = None, batch: int | None = None) -> int:
    """Embed every pending chunk (of `doc_ids`, or all), `batch` at a time. The model runs
    outside any transaction; each batch is written only where the chunk is still the one
    read (a document replaced meanwhile has new chunks, embedded by their own task), so a
    rerun or a concurrent run does no harm. Returns how many chunks were embedded."""
    batch = batch or settings.KB_EMBED_BATCH
    current = embedding.model_name()
    done = 0
    after = 0
    while True:
        rows = list(
            pending_chunks(doc_ids)
            .filter(id__gt=after)
            .order_by("id")
            .values_list("id", "heading", "text", "content_hash")[:batch]
        )
        if not rows:
            return done
        after = rows[-1][0]
        vectors = embedding.embed([chunking.embedded_text(h, t) for _, h, t, _ in rows])
        written = embeddings_write(
            [(chunk_id, content_hash) for chunk_id, _, _, content_hash in rows], vectors, current
        )
        done += written
        log.info("embedded %d chunks with %s", written, current)


# One statement for the batch, in autocommit. The embedding worker runs as background work
# (aiops.background: SCHED_IDLE), so it may wait long for a core between two statements of
# its own; a transaction it held open meanwhile would keep its row locks and hold back
# vacuum's horizon for every table. A single statement runs inside PostgreSQL alone.
WRITE_EMBEDDINGS = """
UPDATE kb_chunk AS c SET embedding = v.embedding::vector, model = %s
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, content_hash, embedding)
WHERE c.id = v.id AND c.content_hash = v.content_hash
"""


def embeddings_write(chunks: list[tuple[int, str]], vectors: list, model: str) -> int:
    """Store each (chunk id, content hash) chunk's vector, only where the chunk still has
    that content; returns how many were written."""
    field = KbChunk._meta.get_field("embedding")
    with connection.cursor() as cursor:
        cursor.execute(
            WRITE_EMBEDDINGS,
            [
                model,
                [chunk_id for chunk_id, _ in chunks],
                [content_hash for _, content_hash in chunks],
                [field.get_prep_value(vector) for vector in vectors],
            ],
        )
        return cursor.rowcount


def chunks_reindex(*, doc_ids: Sequence[int] | None = None, queue: bool = True) -> int:
    """Forget the embeddings (of these documents, or all) so they are embedded again with
    the current model; with `queue`, the task is queued on commit. Returns the chunks reset."""
    chunks = KbChunk.objects.all()
    if doc_ids is not None:
        chunks = chunks.filter(doc_id__in=doc_ids)
    with transaction.atomic():
        count = chunks.update(embedding=None, model="")
        if queue:
            ids = list(doc_ids) if doc_ids is not None else None
            transaction.on_commit(lambda: queue_embedding(ids))
    return count
