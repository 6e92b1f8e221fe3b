"""The plan_ready guard: the latest plan is schema-valid with steps, rollback and checks."""

from apps.planner import dsl
from apps.planner.selectors import latest_plan


def plan_ready(case) -> str | None:
    plan = latest_plan(case.pk)
    if plan is None:
        return "no plan has been proposed for this case"
    missing = dsl.missing_parts(plan.document)
    if missing:
        return f"plan revision {plan.revision} lacks " + ", ".join(missing)
    return None
