"""GET /kb/search and selectors.search: each mode, filters inside the scan, snippets, errors,
roles. Chunks are embedded in this process (the model loads once per test session)."""

import pytest
from django.db import connection

from apps.kb import embedding, selectors, services
from apps.kb.models import KbChunk
from tests.kb_support import DISK, POSTMORTEM, RUNBOOK

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(operator):
    """Three documents, embedded."""
    for doc in (RUNBOOK, POSTMORTEM, DISK):
        services.doc_ingest(**doc, actor=operator)
    services.chunks_embed()


def get(client, **params):
    return client.get("/kb/search", params)


@pytest.mark.parametrize("mode", ["text", "vector", "hybrid"])
def test_each_mode_ranks_the_matching_section_first(corpus, mode):
    hits = selectors.search("how do I roll back the checkout deploy", k=3, mode=mode)

    assert hits[0].heading == "Checkout latency > Mitigation > Roll back"
    assert hits[0].title == "Checkout latency" and hits[0].services == ["checkout"]


def test_hybrid_scores_carry_both_rankings_and_their_fusion(corpus):
    top = selectors.search("roll back checkout deploy", k=1)[0]

    assert 0 < top.scores["vector"] <= 1
    assert top.scores["text"] > 0
    assert top.scores["fused"] == pytest.approx(2 / 61)


def test_a_paraphrase_is_found_by_meaning_alone(corpus):
    hits = selectors.search("the volume has no room left for writes", k=1, mode="vector")

    assert hits[0].title == "Disk full"


def test_an_alert_as_labels_finds_its_postmortem(corpus):
    alert = (
        "alertname=KafkaConsumerGroupRebalancing service=orders severity=warning "
        'summary="orders consumers left the group: poll interval exceeded"'
    )

    assert selectors.search(alert, k=1)[0].kind == "postmortem"


def test_text_mode_finds_chunks_before_they_are_embedded(operator):
    services.doc_ingest(**DISK, actor=operator)

    hits = selectors.search("no space left on device", mode="text")

    assert hits and hits[0].title == "Disk full"
    assert selectors.search("no space left on device", mode="vector") == []


def test_the_snippet_marks_the_query_words_in_escaped_text(operator):
    services.doc_ingest(
        title="Escape",
        kind="runbook",
        body="Run <script>alert(1)</script> then rotate logs.",
        actor=operator,
    )

    [hit] = selectors.search("rotate logs", mode="text")

    assert "<mark>rotate</mark>" in hit.snippet and "<mark>logs</mark>" in hit.snippet
    unmarked = hit.snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in unmarked and "script&gt;" in unmarked


def test_kind_and_service_filters_apply_in_every_mode(corpus):
    for mode in ("text", "vector", "hybrid"):
        hits = selectors.search("checkout orders", k=10, kind="postmortem", mode=mode)
        assert {h.kind for h in hits} == {"postmortem"}, mode
        hits = selectors.search("checkout orders", k=10, service="linux", mode=mode)
        assert {h.title for h in hits} <= {"Disk full"}, mode


def test_a_selective_filter_still_fills_k_hits(operator):
    """Sixty chunks nearer to the query than any of the five that pass the filter: a top-k
    taken from the index first and filtered after would come back empty."""
    query = "checkout latency is high"
    near = embedding.embed([query])[0]
    for i in range(60):
        services.doc_ingest(
            title=f"Decoy {i}",
            kind="runbook",
            services=["checkout"],
            body=f"decoy {i}",
            actor=operator,
        )
    for i in range(5):
        services.doc_ingest(
            title=f"Billing {i}",
            kind="runbook",
            services=["billing"],
            body=f"invoice run {i}",
            actor=operator,
        )
    KbChunk.objects.filter(services=["checkout"]).update(
        embedding=near, model=embedding.model_name()
    )
    services.chunks_embed()

    for mode in ("vector", "hybrid"):
        hits = selectors.search(query, k=5, service="billing", mode=mode)
        assert sorted(h.title for h in hits) == [f"Billing {i}" for i in range(5)], mode


def test_k_bounds_the_hits(corpus):
    assert len(selectors.search("checkout", k=2, mode="vector")) == 2


def test_the_api_returns_hits_with_their_document(viewer_api, corpus):
    response = get(viewer_api, q="roll back the checkout deploy", k=2)

    assert response.status_code == 200
    top = response.json()["hits"][0]
    assert top["document"]["title"] == "Checkout latency"
    assert top["document"]["source_url"] == RUNBOOK["source_url"]
    assert top["heading"] == "Checkout latency > Mitigation > Roll back"
    assert set(top["scores"]) == {"vector", "text", "fused"}
    assert "<mark>" in top["snippet"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 2001},
        {"q": "disk", "k": 0},
        {"q": "disk", "k": 51},
        {"q": "disk", "k": "many"},
        {"q": "disk", "mode": "fuzzy"},
        {"q": "disk", "kind": "novel"},
        {},
    ],
)
def test_a_bad_search_is_400_problem(viewer_api, params):
    response = get(viewer_api, **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-search")


def test_an_operator_can_search(api):
    assert get(api, q="disk", mode="text").status_code == 200


def test_the_ingest_role_cannot_search(ingest_api):
    assert get(ingest_api, q="disk").status_code == 403


def test_anonymous_cannot_search(anonymous_api):
    assert get(anonymous_api, q="disk").status_code == 401


def test_past_cases_are_found_by_meaning_when_runbooks_outnumber_them(operator):
    # Cases search through their own index; one shared with many closer runbooks would hand
    # back runbooks only, and filtering them out after the index would leave no case.
    for n in range(60):
        services.doc_ingest(
            title=f"Checkout latency {n}",
            kind="runbook",
            body=f"## Symptoms\nCheckout p95 latency above {300 + n} ms.\n## Fix\nRoll back.",
            actor=operator,
        )
    for n in range(3):
        services.doc_ingest(
            title=f"Case: checkout slow {n}",
            kind="case",
            body=f"## Trigger\nCheckout latency alert number {n}.\n",
            actor=operator,
        )
    services.chunks_embed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kb_chunk")
        # A store this small is cheaper to scan whole; a large one is read through an index.
        cursor.execute("SET enable_seqscan = off")
    try:
        hits = selectors.search("checkout p95 latency", k=3, kind="case", mode="vector")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")

    assert sorted(h.title for h in hits) == [f"Case: checkout slow {n}" for n in range(3)]


def test_the_text_ranking_scores_only_the_newest_matching_chunks(operator, settings):
    # Every closed case of a service shares its words: ranking them all grew with the store.
    settings.KB_SEARCH_CANDIDATES = 2
    settings.KB_TEXT_SCAN = 2
    for n in range(4):
        services.doc_ingest(
            title=f"Case {n}",
            kind="case",
            body=f"# Case {n}\n\ncheckout latency restart number{n}",
            services=["checkout"],
            actor=operator,
        )
    newest_two = list(KbChunk.objects.order_by("-id").values_list("id", flat=True)[:2])

    hits = selectors.search("checkout latency restart", k=2, mode="text")

    assert sorted(h.chunk_id for h in hits) == sorted(newest_two)
    assert len(KbChunk.objects.filter(text__contains="checkout latency restart")) == 4
