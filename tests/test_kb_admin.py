"""The admin shows documents with their chunks, a search page with what the API returns, and
a re-index action."""

import pytest
from django.test import Client

from apps.kb import services
from apps.kb.models import KbChunk, KbDoc
from tests.conftest import make_user
from tests.kb_support import DISK, RUNBOOK

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(operator):
    for doc in (RUNBOOK, DISK):
        services.doc_ingest(**doc, actor=operator)
    root = make_user("root", superuser=True)
    root.is_staff = True
    root.save()
    client = Client()
    client.force_login(root)
    return client


def test_a_document_page_lists_its_chunks(admin_client):
    doc = KbDoc.objects.get(title="Checkout latency")

    page = admin_client.get(f"/admin/kb/kbdoc/{doc.pk}/change/")

    assert page.status_code == 200
    assert b"Checkout latency &gt; Mitigation &gt; Roll back" in page.content


def test_the_search_page_shows_the_hits_of_the_api(admin_client):
    page = admin_client.get("/admin/kb/kbdoc/search/", {"q": "no space left", "mode": "text"})

    assert page.status_code == 200
    assert b"Disk full" in page.content and b"<mark>space</mark>" in page.content


def test_the_reindex_action_forgets_the_embeddings_of_the_selected_documents(admin_client):
    doc = KbDoc.objects.get(title="Disk full")
    KbChunk.objects.update(embedding=[0.1] * 384, model="all-MiniLM-L6-v2")

    admin_client.post(
        "/admin/kb/kbdoc/", {"action": "reindex", "_selected_action": [doc.pk]}, follow=True
    )

    assert set(KbChunk.objects.filter(doc=doc).values_list("model", flat=True)) == {""}
    assert not KbChunk.objects.exclude(doc=doc).filter(model="").exists()
