"""Validation of documents to ingest: pure, no database."""

from apps.kb.documents import parse_documents

GOOD = {"title": "Disk full", "kind": "runbook", "services": ["web"], "body": "# Disk full\nrm"}


def parse(raw, **limits):
    return parse_documents(
        raw, max_docs=limits.get("max_docs", 10), max_body_chars=limits.get("max_body", 1000)
    )


def fields(errors):
    return [(e.index, e.field) for e in errors]


def test_a_single_object_is_a_batch_of_one():
    docs, errors = parse(GOOD)

    assert errors == []
    assert [(d.title, d.kind, d.services) for d in docs] == [("Disk full", "runbook", ("web",))]


def test_the_key_is_the_source_url_else_the_title():
    by_url, _ = parse({**GOOD, "source_url": "https://wiki.example.com/disk"})
    by_title, _ = parse(GOOD)

    assert by_url[0].key == "https://wiki.example.com/disk"
    assert by_title[0].key == "title:disk full"


def test_every_bad_item_is_listed_with_its_index_and_field():
    raw = [
        GOOD,
        {**GOOD, "title": "B", "body": "   "},
        {**GOOD, "title": "C", "kind": "novel"},
        {**GOOD, "title": "D", "source_url": "ftp://x"},
        {**GOOD, "title": "E", "body": "x" * 1001},
        {**GOOD, "title": "F", "body": "PK\x03\x04binary"},
        {**GOOD, "title": "G", "extra": 1},
    ]

    _, errors = parse(raw)

    assert fields(errors) == [
        (1, "body"),
        (2, "kind"),
        (3, "source_url"),
        (4, "body"),
        (5, "body"),
        (6, "extra"),
    ]


def test_nul_in_a_body_is_binary():
    _, errors = parse({**GOOD, "body": "a\x00b"})

    assert fields(errors) == [(0, "body")]


def test_missing_fields_are_required():
    _, errors = parse({})

    assert fields(errors) == [(0, "title"), (0, "kind"), (0, "body")]


def test_too_many_documents_is_one_error_for_the_request():
    _, errors = parse([GOOD] * 3, max_docs=2)

    assert fields(errors) == [(-1, "")]


def test_an_empty_array_is_refused():
    assert fields(parse([])[1]) == [(-1, "")]


def test_the_same_document_twice_in_a_batch_is_refused():
    _, errors = parse([GOOD, {**GOOD, "title": "disk FULL"}])

    assert fields(errors) == [(1, "title")]


def test_service_names_must_be_names():
    _, errors = parse({**GOOD, "services": ["ok", "not ok!"]})

    assert fields(errors) == [(0, "services")]
