"""A closed case's summary: what triggered it, what was planned, decided, run and verified,
and its timeline — kept when its detail rows go (retention) and given to the Librarian as a
"similar case" document.

The Orchestrator imports no other module, so each module contributes its own part:
`@summary_part("plans")` registers a function of the case returning plain JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from aiops.prepared import prepared
from apps.cases.models import CaseTimeline, OpsCase

_PARTS: dict[str, Callable[[OpsCase], object]] = {}
TIMELINE_ROWS = 200  # the first and last rows of a very long timeline


def summary_part(name: str):
    def register(func: Callable[[OpsCase], object]):
        _PARTS[name] = func
        return func

    return register


@prepared
def _timeline(case_id):
    rows = CaseTimeline.objects.filter(case_id=case_id).order_by("id")
    return rows.values("created_at", "event", "to_state", "actor", "reason")


def case_summary(case: OpsCase) -> dict:
    rows = _timeline(case.pk)
    if len(rows) > TIMELINE_ROWS:
        half = TIMELINE_ROWS // 2
        rows = [
            *rows[:half],
            {"event": f"… {len(rows) - TIMELINE_ROWS} rows left out"},
            *rows[-half:],
        ]
    summary = {
        "case": {
            "id": str(case.pk),
            "title": case.title,
            "service": case.service,
            "environment": case.environment,
            "severity": case.severity,
            "state": case.state,
            "template": case.template,
            "created_at": case.created_at.isoformat(),
            "updated_at": case.updated_at.isoformat(),
            "trigger": case.labels.get("finding")
            or {"by": "a person", "description": case.description},
        },
        "timeline": [
            {**row, "created_at": row["created_at"].isoformat()} if "created_at" in row else row
            for row in rows
        ],
    }
    for name, part in sorted(_PARTS.items()):
        summary[name] = part(case)
    return summary


def outcome(summary: dict) -> str:
    """How the case ended, in a few words: "closed after verify_pass", "parked: …"."""
    moves = [r for r in summary.get("timeline", []) if r.get("event") not in (None, "")]
    last = next((r for r in reversed(moves) if r.get("event") in ("verify_pass", "close")), None)
    state = summary["case"]["state"]
    if last is None:
        return state.lower()
    return f"{state.lower()} after {last['event']}" + (
        f": {last['reason']}" if last.get("reason") else ""
    )
