"""The markdown chunker and front matter reader: pure, no database."""

import pytest

from apps.kb.chunking import FrontMatterError, read_markdown, split

RUNBOOK = """# Checkout latency
Intro paragraph.

## Symptoms
p95 above 300 ms.

## Mitigation
### Roll back
kubectl rollout undo deploy/checkout

### Scale out
kubectl scale deploy/checkout --replicas=12
"""


def test_it_keeps_the_heading_path_of_each_section():
    headings = [c.heading for c in split("Checkout latency", RUNBOOK, max_chars=1000)]

    assert headings == [
        "Checkout latency",
        "Checkout latency > Symptoms",
        "Checkout latency > Mitigation > Roll back",
        "Checkout latency > Mitigation > Scale out",
    ]


def test_it_numbers_chunks_in_document_order():
    chunks = split("Checkout latency", RUNBOOK, max_chars=1000)

    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]
    assert chunks[2].text == "kubectl rollout undo deploy/checkout"


def test_a_heading_without_text_gives_no_chunk_of_its_own():
    chunks = split("Checkout latency", RUNBOOK, max_chars=1000)

    assert "Checkout latency > Mitigation" not in [c.heading for c in chunks]


def test_a_level_one_heading_other_than_the_title_joins_the_path():
    chunks = split("API title", "# Body title\n## Part\ntext", max_chars=1000)

    assert [c.heading for c in chunks] == ["API title > Body title > Part"]


def test_headings_inside_code_fences_are_code():
    body = "## Fix\n```\n# not a heading\necho hi\n```\nafter"

    chunks = split("Doc", body, max_chars=1000)

    assert len(chunks) == 1
    assert "# not a heading" in chunks[0].text


def test_a_long_section_is_cut_at_paragraphs_under_the_cap():
    paragraphs = [f"paragraph {i} " + "word " * 30 for i in range(10)]
    body = "## Diagnosis\n" + "\n\n".join(paragraphs)

    chunks = split("Doc", body, max_chars=400)

    assert len(chunks) > 1
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(c.heading == "Doc > Diagnosis" for c in chunks)
    assert chunks[0].text.startswith("paragraph 0")


def test_a_single_huge_word_is_cut_at_the_cap():
    chunks = split("Doc", "x" * 2500, max_chars=1000)

    assert [len(c.text) for c in chunks] == [1000, 1000, 500]


def test_plain_text_is_one_chunk_under_the_title():
    chunks = split("Restart notes", "Just restart it.", max_chars=1000)

    assert [(c.heading, c.text) for c in chunks] == [("Restart notes", "Just restart it.")]


def test_the_content_hash_covers_heading_and_text():
    one = split("A", "## X\nsame", max_chars=1000)[0]
    other = split("A", "## Y\nsame", max_chars=1000)[0]

    assert one.content_hash != other.content_hash


def test_front_matter_gives_kind_and_services_and_is_removed_from_the_body():
    parsed = read_markdown(
        "---\nkind: postmortem\nservices: [db]\n---\n# Title here\ntext", fallback_title="f"
    )

    assert parsed.meta == {"kind": "postmortem", "services": ["db"]}
    assert parsed.title == "Title here"
    assert parsed.body.startswith("# Title here")


def test_the_title_falls_back_to_the_file_name():
    assert read_markdown("no heading here", fallback_title="disk full").title == "disk full"


def test_front_matter_that_is_not_a_mapping_is_refused():
    with pytest.raises(FrontMatterError):
        read_markdown("---\n- a list\n---\nbody", fallback_title="f")
