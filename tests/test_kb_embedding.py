"""Embedding runs in a real Celery worker, queued on commit by an ingest; it is idempotent
and re-embeds after a model change."""

import pytest

from apps.kb import selectors, services
from apps.kb.models import KbChunk
from tests import support
from tests.kb_support import DISK, POSTMORTEM, RUNBOOK


def all_embedded():
    chunks = KbChunk.objects.all()
    return chunks.exists() and not chunks.filter(embedding__isnull=True).exists()


def test_an_ingest_is_embedded_by_the_worker_and_then_found_by_meaning(api, worker):
    response = api.post("/kb/ingest", [RUNBOOK, POSTMORTEM, DISK], format="json")
    assert response.status_code == 200

    support.wait_for(all_embedded, timeout=120, what="the chunks to be embedded")

    assert set(KbChunk.objects.values_list("model", flat=True)) == {"all-MiniLM-L6-v2"}
    hits = selectors.search("the volume has no room left for writes", k=1, mode="vector")
    assert hits[0].title == "Disk full"


def test_running_the_embedding_again_embeds_nothing(transactional_db, operator):
    services.doc_ingest(**DISK, actor=operator)
    assert services.chunks_embed() == 2

    assert services.chunks_embed() == 0


def test_a_model_change_re_embeds_every_chunk(transactional_db, operator, settings):
    services.doc_ingest(**DISK, actor=operator)
    services.chunks_embed()
    settings.KB_MODEL = "all-MiniLM-L6-v2@next"

    assert services.pending_chunks().count() == 2
    assert services.chunks_embed() == 2
    assert set(KbChunk.objects.values_list("model", flat=True)) == {"all-MiniLM-L6-v2@next"}


@pytest.mark.django_db
def test_reindex_forgets_the_embeddings_of_the_documents_named(operator):
    doc = services.doc_ingest(**DISK, actor=operator)
    other = services.doc_ingest(**RUNBOOK, actor=operator)
    KbChunk.objects.update(embedding=[0.1] * 384, model="all-MiniLM-L6-v2")

    assert services.chunks_reindex(doc_ids=[doc.pk], queue=False) == 2

    assert services.pending_chunks().count() == 2
    assert not services.pending_chunks([other.pk]).exists()


def test_batched_embeddings_are_each_texts_own_in_the_callers_order():
    from apps.kb import embedding

    texts = ["disk full on /var", "x" * 1500, "restart the checkout deployment", "ok"]
    together = embedding.embed(texts)
    alone = [embedding.embed([text])[0] for text in texts]

    for mine, single in zip(together, alone, strict=True):
        assert max(abs(a - b) for a, b in zip(mine, single, strict=True)) < 1e-5


def test_a_batch_of_embeddings_is_written_in_one_statement(transactional_db, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.doc_ingest(**RUNBOOK, actor=operator)
    services.doc_ingest(**DISK, actor=operator)
    pending = services.pending_chunks().count()
    assert pending > 2

    with CaptureQueriesContext(connection) as queries:
        assert services.chunks_embed() == pending

    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("UPDATE")]
    assert len(writes) == 1  # the background worker never holds a write transaction open
    assert not services.pending_chunks().exists()


def test_a_chunk_whose_content_changed_after_it_was_read_keeps_no_stale_embedding(
    transactional_db, operator
):
    services.doc_ingest(**DISK, actor=operator)
    first, second = KbChunk.objects.order_by("id").values_list("id", "content_hash")
    KbChunk.objects.filter(pk=second[0]).update(content_hash="changed since it was read")

    written = services.embeddings_write([first, second], [[0.1] * 384, [0.2] * 384], "m")

    assert written == 1
    assert KbChunk.objects.get(pk=first[0]).model == "m"
    assert KbChunk.objects.get(pk=second[0]).embedding is None
