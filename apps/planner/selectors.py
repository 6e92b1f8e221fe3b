"""Planner reads: the latest plan, and the facts templates and the risk score need (recent
failures, last change, metrics never ingested)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Value

from aiops.prepared import prepared
from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline
from apps.planner.models import PlanProposed
from apps.sensor import selectors as sensor

FAILED_CHANGE_EVENTS = ("exec_failed", "verify_failed")


@prepared
def _latest_plan(case_id):
    return PlanProposed.objects.filter(case_id=case_id).order_by("-revision")[:1]


def latest_plan(case_id) -> PlanProposed | None:
    return _latest_plan.first(case_id)


def plan_get(plan_id) -> PlanProposed | None:
    return PlanProposed.objects.filter(pk=plan_id).select_related("case").first()


def recent_failed_changes(*, service: str, now: datetime, days: int) -> int:
    """How many of the service's cases parked after a failed execution or verification lately."""
    counted = _failed_changes(service, now - timedelta(days=days))
    return counted[0] if counted else 0


@prepared
def _failed_changes(service, since):
    return (
        CaseTimeline.objects.filter(
            case__service=service,
            case__state=wf.PARKED,
            event__in=FAILED_CHANGE_EVENTS,
            created_at__gte=since,
        )
        # One group (a constant key): COUNT(DISTINCT …) over every matching row.
        .values(one=Value(1))
        .annotate(cases=Count("case_id", distinct=True))
        .values_list("cases", flat=True)
        .order_by()
    )


def last_change(*, service: str, environment: str, exclude_case_id) -> dict | None:
    """The plan document of the service's most recently approved change on another case
    (read from the Orchestrator's timeline: gate_approved carries the plan's id)."""
    approvals = (
        CaseTimeline.objects.filter(
            event="gate_approved", case__service=service, case__environment=environment
        )
        .exclude(case_id=exclude_case_id)
        .order_by("-created_at")
        .values_list("data", flat=True)
    )
    for data in approvals[:20]:
        plan = PlanProposed.objects.filter(pk=data.get("plan_id"), template__in=_CHANGES).first()
        if plan is not None:
            return plan.document
    return None


# A rollback undoes a change, never an earlier rollback.
_CHANGES = ("restart", "canary", "scale_out", "incident", "")


def unobserved_metrics(*, service: str, spec: dict) -> set[str]:
    """The `metric`s of the plan's checks that metric_1m holds no minute of for `service`.
    Only where metric checks read metric_1m (AIOPS_VERIFY_METRIC_SOURCE); another source's
    series are not the Planner's to look up, so then none is reported."""
    if settings.VERIFY_METRIC_SOURCE != "metric_1m":
        return set()
    checks = (spec.get("verify") or {}).get("checks") or []
    metrics = {c["metric"] for c in checks if c.get("metric") and not c.get("promql")}
    return sensor.unobserved_metrics(service=service, metrics=metrics)
