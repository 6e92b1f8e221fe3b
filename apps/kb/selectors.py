"""Librarian reads: hybrid search over kb_chunk.

One SQL statement ranks the chunks twice — by cosine distance of their embedding to the
query's (HNSW index) and by full-text rank of their tsvector against the query's words (GIN
index) — and fuses the two rankings by reciprocal rank fusion. The kind/service filters are
in the WHERE clause of both rankings, so a selective filter still fills k hits: with pgvector
≥ 0.8 the HNSW scan iterates until it has enough rows (hnsw.iterative_scan); before that a
filtered vector ranking is an exact scan of the filtered rows (a KB is thousands of chunks,
not millions), never a filter applied to an index's top candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from apps.kb import embedding
from apps.kb.models import TEXT_CONFIG, KbDoc
from apps.kb.query import text_terms, tsquery_source, words

VECTOR, TEXT, HYBRID = "vector", "text", "hybrid"
MODES = (VECTOR, TEXT, HYBRID)


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    doc_id: int
    title: str
    kind: str
    services: list[str]
    source_url: str
    heading: str
    text: str
    snippet: str
    scores: dict = field(default_factory=dict)  # vector, text, fused (None: not ranked by it)


_iterative_scan: bool | None = None


def iterative_scan_available() -> bool:
    """Whether the vector extension can iterate an HNSW scan past its first candidates
    (pgvector 0.8.0 and later)."""
    global _iterative_scan
    if _iterative_scan is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        version = tuple(int(p) for p in row[0].split(".")[:2]) if row else (0, 0)
        _iterative_scan = version >= (0, 8)
    return _iterative_scan


def search(
    q: str, *, k: int = 5, kind: str | None = None, service: str | None = None, mode: str = HYBRID
) -> list[Hit]:
    """The top `k` chunks for query `q` (prose or an alert's labels and summary), best first,
    of documents of `kind` about `service` when given. `mode`: vector, text or hybrid.
    Chunks not yet embedded take part in the text ranking only."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    terms = text_terms(q)
    tsquery = tsquery_source(terms)
    vector = embedding.embed_query(words(q) or q) if mode != TEXT else None
    filters, params = [], {}
    if kind:
        filters.append("c.kind = %(kind)s")
        params["kind"] = kind
    if service:
        filters.append("c.services @> ARRAY[%(service)s]::varchar[]")
        params["service"] = service
    where = "".join(f" AND {f}" for f in filters)
    candidates = max(k, settings.KB_SEARCH_CANDIDATES)
    params.update(
        vector=str(vector) if vector is not None else None,
        model=embedding.model_name(),
        tsquery=tsquery,
        n=candidates,
        k=k,
        rrf=settings.KB_RRF_K,
        config=TEXT_CONFIG,
        scan=max(candidates, settings.KB_TEXT_SCAN),
    )
    rankings = []
    if mode != TEXT:
        # Past cases alone have their own HNSW index (kb_chunk_case_hnsw): no exact scan.
        indexed = kind == KbDoc.CASE and not service
        rankings.append(_vector_ranking(where, filtered=bool(filters) and not indexed))
    if mode != VECTOR and terms:
        rankings.append(_TEXT_RANKING.format(where=where))
    if not rankings:
        return []
    sql = _statement(rankings, mode)
    with transaction.atomic(), connection.cursor() as cursor:
        if mode != TEXT:
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)", [str(max(40, candidates))]
            )
            if filters and iterative_scan_available():
                cursor.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return [
        Hit(
            chunk_id=row["chunk_id"],
            doc_id=row["doc_id"],
            title=row["title"],
            kind=row["kind"],
            services=list(row["services"]),
            source_url=row["source_url"],
            heading=row["heading"],
            text=row["text"],
            snippet=row["snippet"],
            scores={
                "vector": None if row["distance"] is None else 1.0 - row["distance"],
                "text": row["text_score"],
                "fused": row["fused"],
            },
        )
        for row in rows
    ]


# The statement is put together from the fragments below and the fixed filter clauses of
# `search` (S608): every value travels as a parameter.
def _vector_ranking(where: str, *, filtered: bool) -> str:
    rows = f"""SELECT c.id, c.embedding FROM kb_chunk c
        WHERE c.embedding IS NOT NULL AND c.model = %(model)s{where}"""  # noqa: S608
    if filtered and not iterative_scan_available():
        # The filtered rows materialized, then sorted by exact distance: no index top-N for
        # the filter to empty.
        rows = f"WITH filtered AS MATERIALIZED ({rows}) SELECT id, embedding FROM filtered"  # noqa: S608
    return f"""vec AS (
        SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM (
            SELECT c.id, c.embedding <=> %(vector)s::vector AS distance FROM ({rows}) c
            ORDER BY c.embedding <=> %(vector)s::vector LIMIT %(n)s) ranked)"""  # noqa: S608


# The text ranking scores the newest KB_TEXT_SCAN matching chunks, not every match: a
# service's past cases share its words, so every one of them matched, and ranking them all
# (a parallel scan of the whole store) grew with each closed case: 22 ms of PostgreSQL on
# two cores per plan at 38,000 case chunks. The vector ranking still reaches every chunk.
_TEXT_RANKING = """txt AS (
        SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM (
            SELECT c.id, ts_rank(c.tsv, query, 1) AS score
            FROM (SELECT c.id, c.tsv
                  FROM kb_chunk c, to_tsquery(%(config)s::regconfig, %(tsquery)s) q
                  WHERE c.tsv @@ q{where} ORDER BY c.id DESC LIMIT %(scan)s) c,
                 to_tsquery(%(config)s::regconfig, %(tsquery)s) query
            ORDER BY score DESC, c.id LIMIT %(n)s) ranked)"""


def _statement(rankings: list[str], mode: str) -> str:
    if mode == HYBRID and len(rankings) == 2:
        fused = """SELECT coalesce(v.id, t.id) AS id, v.distance, t.score AS text_score,
            coalesce(1.0 / (%(rrf)s + v.rank), 0) + coalesce(1.0 / (%(rrf)s + t.rank), 0) AS fused
            FROM vec v FULL OUTER JOIN txt t ON t.id = v.id"""
    elif mode == TEXT:
        fused = """SELECT id, NULL::float8 AS distance, score AS text_score,
            1.0 / (%(rrf)s + rank) AS fused FROM txt"""
    else:
        fused = """SELECT id, distance, NULL::float4 AS text_score,
            1.0 / (%(rrf)s + rank) AS fused FROM vec"""
    return f"""WITH {", ".join(rankings)}, fused AS ({fused})
        SELECT c.id AS chunk_id, d.id AS doc_id, d.title, d.kind, d.services, d.source_url,
            c.heading, c.text, f.distance, f.text_score, f.fused::float8 AS fused,
            ts_headline(%(config)s::regconfig,
                replace(replace(replace(c.text, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                to_tsquery(%(config)s::regconfig, %(tsquery)s),
                'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2'
            ) AS snippet
        FROM fused f JOIN kb_chunk c ON c.id = f.id JOIN kb_doc d ON d.id = c.doc_id
        ORDER BY f.fused DESC, f.text_score DESC NULLS LAST, c.id
        LIMIT %(k)s"""  # noqa: S608
