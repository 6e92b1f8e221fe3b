"""The Planner's part of a closed case's summary (apps.cases.archive)."""

from aiops.prepared import prepared
from apps.cases.archive import summary_part
from apps.planner.models import PlanProposed


@prepared
def _plans(case_id):
    return PlanProposed.objects.filter(case_id=case_id).order_by("revision")


def change_of(document: dict, template: str) -> str:
    """What kind of change a plan makes: its incident remedy, its template, or "custom"."""
    incident = (document.get("metadata") or {}).get("incident") or {}
    return incident.get("remedy") or template or "custom"


@summary_part("plans")
def plans(case) -> list[dict]:
    out = []
    for plan in _plans(case.pk):
        spec = plan.document.get("spec", {})
        out.append(
            {
                "revision": plan.revision,
                "template": plan.template,
                "change": change_of(plan.document, plan.template),
                "risk": plan.risk_score,
                "by": plan.created_by,
                "steps": [
                    f"{s.get('id')}: {s.get('adapter')}.{s.get('action')}"
                    for s in spec.get("steps", [])
                ],
                "rollback": [
                    f"{s.get('id')}: {s.get('adapter')}.{s.get('action')}"
                    for s in spec.get("rollback", [])
                ],
                "checks": [c.get("name") for c in (spec.get("verify") or {}).get("checks", [])],
            }
        )
    return out
