"""The Gatekeeper's part of a closed case's summary (apps.cases.archive)."""

from aiops.prepared import prepared
from apps.cases.archive import summary_part
from apps.gate.models import GateDecision


@prepared
def _decisions(case_id):
    return GateDecision.objects.filter(case_id=case_id).order_by("created_at")


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
        for d in _decisions(case.pk)
    ]
