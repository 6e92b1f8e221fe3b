"""`make bench-kb`: the Librarian's retrieval quality and embedding throughput.

Ingests the corpus of bench/kb_corpus/docs (runbooks and postmortems, through the same
service as `manage.py kb_ingest`), embeds it in this process (the code the Celery task runs)
and asks every query of bench/kb_corpus/queries.yaml in each mode. A query's answer is one
document; its rank is the position of that document among the distinct documents of the
hits (a search returns chunks: several may come from one document). Reported: recall@1,
recall@5 and MRR (reciprocal rank, 0 beyond the top 20 documents), overall and per kind of
query, and search latency. Written to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import django

from aiops import bootstrap

bootstrap.prepare()
django.setup()

import yaml  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from apps.kb import embedding, selectors, services  # noqa: E402
from apps.kb.documents import check_document  # noqa: E402
from apps.kb.management.commands.kb_ingest import markdown_files, read_document  # noqa: E402
from apps.kb.models import KbChunk, KbDoc  # noqa: E402
from bench.report import median, percentile, write_section  # noqa: E402
from tests import support  # noqa: E402

CORPUS = Path(os.environ.get("BENCH_KB_CORPUS", Path(__file__).parent / "kb_corpus"))
DEPTH = 20  # hits asked per query: enough chunks for the top documents
MODES = (selectors.TEXT, selectors.VECTOR, selectors.HYBRID)


def ingest() -> dict[str, int]:
    """Load the corpus from scratch; returns file stem → document id."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE kb_chunk, kb_doc")
    files = markdown_files([str(CORPUS / "docs")])
    docs = []
    for path in files:
        doc, errors = check_document(0, read_document(path), max_body_chars=10**7)
        assert not errors, (path, errors)
        docs.append(doc)
    results = services.docs_ingest(docs=docs, actor="bench")
    return {path.stem: result.doc.pk for path, result in zip(files, results, strict=True)}


def rank_of(answer: int, hits: list[selectors.Hit]) -> int | None:
    seen: list[int] = []
    for hit in hits:
        if hit.doc_id not in seen:
            seen.append(hit.doc_id)
    return seen.index(answer) + 1 if answer in seen else None


def score(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "r1": sum(r == 1 for r in ranks) / n,
        "r5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    ids = ingest()
    support.purge_broker()  # the embedding task queued on commit: this process embeds instead
    chunks = KbChunk.objects.count()
    t0 = time.perf_counter()
    embedding.model()
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedded = services.chunks_embed()
    seconds = time.perf_counter() - t0
    queries = yaml.safe_load((CORPUS / "queries.yaml").read_text())
    ranks: dict[str, dict[str, list]] = {mode: {} for mode in MODES}
    latency: dict[str, list[float]] = {mode: [] for mode in MODES}
    misses: list[str] = []
    for mode in MODES:
        for query in queries:
            started = time.perf_counter()
            hits = selectors.search(query["q"], k=DEPTH, mode=mode)
            latency[mode].append((time.perf_counter() - started) * 1000)
            rank = rank_of(ids[query["answer"]], hits)
            ranks[mode].setdefault("all", []).append(rank)
            ranks[mode].setdefault(query["kind"], []).append(rank)
            if mode == selectors.HYBRID and rank != 1:
                top = KbDoc.objects.get(pk=hits[0].doc_id).title if hits else "-"
                misses.append(f"| {query['kind']} | `{query['q']}` | {rank or '>20'} | {top} |")

    subsets = ["all", "alert", "prose", "paraphrase"]
    counts = {s: sum(1 for q in queries if s == "all" or q["kind"] == s) for s in subsets}
    lines = [
        "## Librarian retrieval (`make bench-kb`)",
        "",
        f"{len(ids)} documents ({chunks} chunks) from `bench/kb_corpus/docs`, {len(queries)} "
        "queries with known answers (`bench/kb_corpus/queries.yaml`): prose questions, "
        "paraphrases worded away from their answer, and alert text only "
        "(Alertmanager labels and summary). Rank = position of the answer among the distinct "
        f"documents of the top {DEPTH} chunks; MRR counts 0 beyond them. Model "
        f"{embedding.model_name()}, RRF k={selectors.settings.KB_RRF_K}, "
        f"chunks ≤ {selectors.settings.KB_CHUNK_MAX_CHARS} characters.",
        "",
        "| mode | queries | recall@1 | recall@5 | MRR |",
        "|---|---|---|---|---|",
    ]
    for subset in subsets:
        for mode in MODES:
            s = score(ranks[mode][subset])
            lines.append(
                f"| {mode} | {subset} ({counts[subset]}) | {s['r1']:.3f} | {s['r5']:.3f} "
                f"| {s['mrr']:.3f} |"
            )
    lines += [
        "",
        f"Embedding: {embedded} chunks in {seconds:.1f} s = **{embedded / seconds:.1f} chunks/s** "
        f"(CPU, batches of like lengths, at most {selectors.settings.KB_EMBED_BATCH}; the model "
        f"loads once per process, here in {loaded:.1f} s).",
        "",
        "| search latency | p50 ms | p95 ms |",
        "|---|---|---|",
    ]
    for mode in MODES:
        lines.append(
            f"| {mode} | {median(latency[mode]):.1f} | {percentile(latency[mode], 95):.1f} |"
        )
    if misses:
        lines += [
            "",
            "Hybrid queries whose answer was not first:",
            "",
            "| kind | query | rank | first document |",
            "|---|---|---|---|",
            *misses,
        ]
    markdown = "\n".join(lines)
    print(markdown)
    write_section("kb", markdown)


if __name__ == "__main__":
    main()
