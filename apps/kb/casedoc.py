"""A closed case as a Librarian document (pure): its summary (apps.cases.archive) in
markdown a person and the search can read, and the facts the loop reads back — how it
ended and what change it made — for "similar cases" and the Planner's track record."""

from __future__ import annotations

VERIFIED = "verified"


def result_of(summary: dict) -> str:
    """verified | parked on verify | parked on exec | rejected at the gate | parked by a
    person | closed without a change."""
    events = [row.get("event") for row in summary.get("timeline", [])]
    if "verify_pass" in events:
        return VERIFIED
    for event, result in (
        ("verify_failed", "parked on verify"),
        ("exec_failed", "parked on exec"),
        ("gate_rejected", "rejected at the gate"),
    ):
        if event in events:
            return result
    if "gate_approved" in events:
        return "parked after approval"
    return "closed without a change" if "park" in events else "parked by a person"


def change_of(summary: dict) -> str:
    plans = summary.get("plans") or []
    return plans[-1].get("change", "custom") if plans else "none"


def meta_of(summary: dict) -> dict:
    case = summary["case"]
    return {
        "case_id": case["id"],
        "service": case["service"],
        "environment": case["environment"],
        "result": result_of(summary),
        "change": change_of(summary),
        "closed_at": case.get("updated_at", ""),
    }


def markdown(summary: dict) -> tuple[str, str]:
    """(title, body) of the case document."""
    case = summary["case"]
    meta = meta_of(summary)
    trigger = case.get("trigger") or {}
    lines = [
        f"# Case: {case['title']}",
        "",
        f"Service {case['service']} in {case['environment']}, {case['severity']}. "
        f"Change: {meta['change']}. Outcome: {meta['result']}.",
        "",
        "## Trigger",
        _trigger(trigger),
    ]
    findings = summary.get("findings") or []
    if findings:
        lines += ["", "## Findings"]
        lines += [
            f"- {f.get('kind')} ({f.get('source')}): {f.get('summary', '')}" for f in findings
        ]
    for plan in summary.get("plans") or []:
        lines += [
            "",
            f"## Plan revision {plan['revision']}: {plan.get('change')} (risk {plan.get('risk')})",
        ]
        lines += [f"- step {s}" for s in plan.get("steps", [])]
        lines += [f"- rollback {s}" for s in plan.get("rollback", [])]
        if plan.get("checks"):
            lines.append(f"- checks: {', '.join(str(c) for c in plan['checks'])}")
    decisions = summary.get("gate_decisions") or []
    if decisions:
        lines += ["", "## Gate decisions"]
        lines += [
            f"- {d['decision']} by {d['by']}: {'; '.join(d.get('reasons') or [])}"
            for d in decisions
        ]
    for run in summary.get("runs") or []:
        lines += [
            "",
            f"## Run: {run['status']}" + (f" ({run['reason']})" if run.get("reason") else ""),
        ]
        lines += [
            f"- {s['phase']} {s['step']} attempt {s['attempt']}: {s['status']}"
            + (f" — {s['error']}" if s.get("error") else "")
            for s in run.get("steps", [])
        ]
    checks = summary.get("verification") or []
    if checks:
        lines += ["", "## Verification"]
        lines += [f"- {c['check']}: {c['result']} — {c['sentence']}" for c in checks]
    lines += ["", "## Timeline"]
    lines += [
        f"- {row.get('event')} by {row.get('actor', '')}"
        + (f": {row['reason']}" if row.get("reason") else "")
        for row in summary.get("timeline", [])
    ]
    return f"Case: {case['title']}"[:300], "\n".join(lines) + "\n"


def _trigger(trigger: dict) -> str:
    if trigger.get("summary") or trigger.get("kind"):
        labels = " ".join(f"{k}={v}" for k, v in sorted((trigger.get("labels") or {}).items()))
        return f"{trigger.get('kind', '')}: {trigger.get('summary', '')} {labels}".strip()
    return trigger.get("description") or "opened by a person"
