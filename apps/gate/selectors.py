from apps.gate.models import PlanApproved
from apps.planner.selectors import latest_plan


def approved_plan(case_id) -> PlanApproved | None:
    """The approval of the case's latest plan revision, or None."""
    plan = latest_plan(case_id)
    if plan is None:
        return None
    return PlanApproved.objects.filter(plan=plan).select_related("plan").first()
