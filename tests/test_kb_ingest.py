"""POST /kb/ingest, services.doc_ingest and `manage.py kb_ingest`: documents and their chunks
in one transaction, a re-ingest is a no-op, a change replaces the chunks, invalid input
stores nothing; roles."""

import pytest
from django.core.management import CommandError, call_command

from apps.kb import services
from apps.kb.exceptions import InvalidDocuments
from apps.kb.models import KbChunk, KbDoc
from tests.conftest import client_for, make_user
from tests.kb_support import DISK, POSTMORTEM, RUNBOOK

pytestmark = pytest.mark.django_db


def post(client, body, **headers):
    return client.post("/kb/ingest", body, format="json", headers=headers)


def nothing_written():
    return KbDoc.objects.count() == 0 and KbChunk.objects.count() == 0


def test_a_document_is_stored_with_its_chunks_under_their_heading_paths(api):
    response = post(api, RUNBOOK)

    assert response.status_code == 200, response.json()
    [result] = response.json()["documents"]
    assert result["outcome"] == "created" and result["chunks"] == 3
    doc = KbDoc.objects.get(pk=result["id"])
    assert doc.services == ["checkout"] and doc.updated_by == "olga"
    assert list(doc.chunks.values_list("heading", "kind", "services")) == [
        ("Checkout latency > Symptoms", "runbook", ["checkout"]),
        ("Checkout latency > Mitigation > Roll back", "runbook", ["checkout"]),
        ("Checkout latency > Mitigation > Scale out", "runbook", ["checkout"]),
    ]


def test_chunks_are_stored_without_an_embedding_until_the_task_runs(api):
    post(api, RUNBOOK)

    assert set(KbChunk.objects.values_list("embedding", "model")) == {(None, "")}


def test_a_batch_is_stored_whole(api):
    response = post(api, [RUNBOOK, POSTMORTEM, DISK])

    assert response.status_code == 200
    assert [d["outcome"] for d in response.json()["documents"]] == ["created"] * 3
    assert KbDoc.objects.count() == 3


def test_the_same_document_again_is_a_no_op(api):
    first = post(api, RUNBOOK).json()["documents"][0]
    chunk_ids = set(KbChunk.objects.values_list("id", flat=True))

    again = post(api, RUNBOOK).json()["documents"][0]

    assert again["outcome"] == "unchanged" and again["id"] == first["id"]
    assert set(KbChunk.objects.values_list("id", flat=True)) == chunk_ids


def test_a_changed_document_replaces_its_chunks(api):
    first = post(api, RUNBOOK).json()["documents"][0]
    changed = {**RUNBOOK, "body": RUNBOOK["body"].replace("twelve", "twenty")}

    again = post(api, changed).json()["documents"][0]

    assert again["outcome"] == "updated" and again["id"] == first["id"]
    assert KbDoc.objects.count() == 1
    assert KbChunk.objects.count() == 3
    assert KbChunk.objects.filter(text__contains="twenty").count() == 1
    assert not KbChunk.objects.filter(text__contains="twelve").exists()


def test_a_replace_keeps_the_embedding_of_sections_that_did_not_change(operator):
    doc = services.doc_ingest(**RUNBOOK, actor=operator)
    KbChunk.objects.filter(doc=doc).update(embedding=[0.1] * 384, model="all-MiniLM-L6-v2")
    changed = {**RUNBOOK, "body": RUNBOOK["body"].replace("twelve", "twenty")}

    services.doc_ingest(**changed, actor=operator)

    kept = dict(KbChunk.objects.values_list("heading", "model"))
    assert kept == {
        "Checkout latency > Symptoms": "all-MiniLM-L6-v2",
        "Checkout latency > Mitigation > Roll back": "all-MiniLM-L6-v2",
        "Checkout latency > Mitigation > Scale out": "",
    }


def test_a_replace_is_atomic_with_the_rest_of_the_batch(api):
    post(api, RUNBOOK)
    changed = {**RUNBOOK, "body": "# Checkout latency\n## New\nall new"}

    response = post(api, [changed, {**DISK, "kind": "novel"}])

    assert response.status_code == 400
    assert KbChunk.objects.filter(text__contains="all new").count() == 0
    assert KbChunk.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RUNBOOK, "body": ""}, "body"),
        ({**RUNBOOK, "body": "  \n\t"}, "body"),
        ({**RUNBOOK, "body": "x" * 200_001}, "body"),
        ({**RUNBOOK, "body": "PK\x03\x04\x14binary"}, "body"),
        ({**RUNBOOK, "kind": "novel"}, "kind"),
        ({**RUNBOOK, "source_url": "javascript:alert(1)"}, "source_url"),
        ({**RUNBOOK, "services": "checkout"}, "services"),
        ({"kind": "runbook", "body": "text"}, "title"),
    ],
)
def test_a_bad_document_is_400_naming_its_field_and_nothing_is_written(api, body, field):
    response = post(api, [DISK, body])

    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert problem["type"].endswith("/invalid-documents")
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [(1, field)]
    assert nothing_written()


def test_nul_in_a_body_is_refused_as_malformed_and_nothing_is_written(api):
    response = post(api, [DISK, {**RUNBOOK, "body": "a\x00b"}])

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")
    assert nothing_written()


def test_too_many_documents_is_400_and_nothing_is_written(api, settings):
    settings.KB_MAX_DOCS = 2

    response = post(api, [RUNBOOK, POSTMORTEM, DISK])

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "At most 2 documents per request."
    assert nothing_written()


def test_a_body_that_is_not_a_document_is_400(api):
    response = post(api, "just text")

    assert response.status_code == 400
    assert nothing_written()


def test_a_replayed_idempotency_key_stores_nothing_new(api):
    first = post(api, RUNBOOK, **{"Idempotency-Key": "kb-1"})
    KbDoc.objects.all().delete()

    replay = post(api, RUNBOOK, **{"Idempotency-Key": "kb-1"})

    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert nothing_written()


def test_the_service_refuses_invalid_input_with_the_same_errors(operator):
    with pytest.raises(InvalidDocuments) as refused:
        services.doc_ingest(title="T", kind="runbook", body="", actor=operator)

    assert refused.value.extra["errors"] == [
        {"index": 0, "field": "body", "message": "Must not be empty."}
    ]
    assert nothing_written()


def test_a_viewer_cannot_ingest(viewer_api):
    assert post(viewer_api, RUNBOOK).status_code == 403
    assert nothing_written()


def test_the_ingest_role_cannot_ingest_kb_documents(ingest_api):
    assert post(ingest_api, RUNBOOK).status_code == 403
    assert nothing_written()


def test_an_operator_token_can_ingest():
    client = client_for(make_user("oscar", "operator"))

    assert post(client, DISK).status_code == 200


def test_the_command_ingests_a_folder_with_front_matter(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dns.md").write_text(
        "---\nkind: postmortem\nservices: [dns]\n---\n# DNS outage\n## Summary\nCoreDNS died."
    )
    (tmp_path / "no-heading.md").write_text("Restart the thing.")

    call_command("kb_ingest", str(tmp_path))

    docs = {d.title: (d.kind, d.services) for d in KbDoc.objects.all()}
    assert docs == {"DNS outage": ("postmortem", ["dns"]), "no heading": ("runbook", [])}


def test_the_command_stores_nothing_when_one_file_is_invalid(tmp_path):
    (tmp_path / "good.md").write_text("# Good\ntext")
    (tmp_path / "bad.md").write_text("---\nkind: novel\n---\n# Bad\ntext")

    with pytest.raises(CommandError, match=r"bad\.md: kind"):
        call_command("kb_ingest", str(tmp_path))

    assert nothing_written()


def test_the_command_refuses_a_binary_file(tmp_path):
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")

    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("kb_ingest", str(tmp_path))

    assert nothing_written()
