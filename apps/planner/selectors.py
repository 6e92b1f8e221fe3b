"""Planner reads: the latest plan, and the facts templates need (recent failures, last change)."""

from datetime import datetime, timedelta

from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline
from apps.planner.models import PlanProposed

FAILED_CHANGE_EVENTS = ("exec_failed", "verify_failed")


def latest_plan(case_id) -> PlanProposed | None:
    return PlanProposed.objects.filter(case_id=case_id).order_by("-revision").first()


def plan_get(plan_id) -> PlanProposed | None:
    return PlanProposed.objects.filter(pk=plan_id).select_related("case").first()


def recent_failed_changes(*, service: str, now: datetime, days: int) -> int:
    """How many of the service's cases parked after a failed execution or verification lately."""
    return (
        CaseTimeline.objects.filter(
            case__service=service,
            case__state=wf.PARKED,
            event__in=FAILED_CHANGE_EVENTS,
            created_at__gte=now - timedelta(days=days),
        )
        .values("case_id")
        .distinct()
        .count()
    )


def last_change(*, service: str, environment: str, exclude_case_id) -> dict | None:
    """The plan document of the service's most recently approved change on another case."""
    from apps.gate.models import PlanApproved

    approval = (
        PlanApproved.objects.filter(
            case__service=service, case__environment=environment, plan__template__in=_CHANGES
        )
        .exclude(case_id=exclude_case_id)
        .select_related("plan")
        .order_by("-created_at")
        .first()
    )
    return approval.plan.document if approval else None


# A rollback undoes a change, never an earlier rollback.
_CHANGES = ("restart", "canary", "scale_out", "incident", "")
