"""What the loop asks of the Librarian: the runbooks that cover a case (with their rollback
hints), the past cases most like it, and how each kind of change fared on those.

Read-only. A knowledge base with nothing of a kind answers at once, without loading the model.
"""

from __future__ import annotations

from collections import Counter

from aiops.prepared import prepared
from apps.kb import casedoc
from apps.kb.models import KbChunk, KbDoc
from apps.kb.selectors import search

ROLLBACK_HEADING = r"roll ?back|revert|undo|back out"
HINT_CHARS = 400


def case_query(case) -> str:
    """A case's symptoms as one query: title, description, the finding's kind, summary and
    labels (the way an alert arrives), and the service."""
    finding = case.labels.get("finding") if isinstance(case.labels, dict) else None
    parts = [case.title, case.description, f"service={case.service}"]
    if isinstance(finding, dict):
        parts += [str(finding.get("kind", "")), str(finding.get("summary", ""))]
        labels = finding.get("labels") or {}
        if isinstance(labels, dict):
            parts += [f"{k}={v}" for k, v in sorted(labels.items()) if isinstance(v, str)]
    return " ".join(p for p in parts if p)[:1800]


def _has(kind: str) -> bool:
    return bool(_one_chunk(kind))


@prepared
def _one_chunk(kind):
    # No order: any one row answers (the model's order would sort every chunk of the kind).
    return KbChunk.objects.filter(kind=kind).order_by().values_list("pk", flat=True)[:1]


def _best_per_doc(hits, limit: int, exclude_url: str = "") -> list:
    seen, best = set(), []
    for hit in hits:
        if hit.doc_id in seen or (exclude_url and hit.source_url == exclude_url):
            continue
        seen.add(hit.doc_id)
        best.append(hit)
        if len(best) == limit:
            break
    return best


def references(query: str, *, k: int = 3) -> list[dict]:
    """The runbooks (and postmortems) that best cover the query, one entry per document with
    its best section and score, and the rollback hints those documents give."""
    if not (_has("runbook") or _has("postmortem")):
        return []
    hits = [h for h in search(query, k=k * 4) if h.kind in ("runbook", "postmortem")]
    out = []
    for hit in _best_per_doc(hits, k):
        hint = (
            KbChunk.objects.filter(doc_id=hit.doc_id, heading__iregex=ROLLBACK_HEADING)
            .order_by("ordinal")
            .values_list("heading", "text")
            .first()
        )
        out.append(
            {
                "doc_id": hit.doc_id,
                "title": hit.title,
                "kind": hit.kind,
                "section": hit.heading,
                "score": round(float(hit.scores.get("fused") or 0), 5),
                "url": hit.source_url,
                "rollback_hint": {"section": hint[0], "text": hint[1][:HINT_CHARS]}
                if hint
                else None,
            }
        )
    return out


def similar_cases(query: str, *, k: int = 5, exclude_url: str = "") -> list[dict]:
    """Past cases (case documents) most like the query, with how each ended."""
    if not _has("case"):
        return []
    hits = _best_per_doc(search(query, k=min(50, k * 4 + 1), kind="case"), k, exclude_url)
    metas = dict(KbDoc.objects.filter(pk__in=[h.doc_id for h in hits]).values_list("pk", "meta"))
    return [
        {
            "case_id": metas.get(h.doc_id, {}).get("case_id", ""),
            "title": h.title.removeprefix("Case: "),
            "score": round(float(h.scores.get("fused") or 0), 5),
            "result": metas.get(h.doc_id, {}).get("result", ""),
            "change": metas.get(h.doc_id, {}).get("change", ""),
            "url": h.source_url,
            "section": h.heading,
        }
        for h in hits
    ]


def track_record(similar: list[dict]) -> dict[str, dict]:
    """Per kind of change, how it fared on the similar cases: counts by result and a
    sentence ("restart verified on 4 of 5 similar cases; 1 parked on verify")."""
    by_change: dict[str, Counter] = {}
    for case in similar:
        by_change.setdefault(case.get("change") or "none", Counter())[case.get("result", "")] += 1
    record = {}
    for change, results in by_change.items():
        total = sum(results.values())
        good = results.get(casedoc.VERIFIED, 0)
        rest = "; ".join(
            f"{n} {result}" for result, n in results.most_common() if result != casedoc.VERIFIED
        )
        sentence = f"{change} verified on {good} of {total} similar case(s)" + (
            f"; {rest}" if rest else ""
        )
        record[change] = {
            "total": total,
            "verified": good,
            "results": dict(results),
            "sentence": sentence,
        }
    return record
