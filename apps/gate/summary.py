"""The Gatekeeper's part of a closed case's summary (apps.cases.archive)."""

from apps.cases.archive import summary_part


@summary_part("gate_decisions")
def decisions(case) -> list[dict]:
    return [
        {
            "decision": d.decision,
            "by": d.actor,
            "kind": d.kind,
            "reasons": d.reasons,
            "risk": d.risk,
        }
        for d in case.gate_decisions.order_by("created_at")
    ]
