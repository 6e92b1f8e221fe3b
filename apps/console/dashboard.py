"""What the dashboard shows, in a fixed number of queries however many cases there are: open
cases by state and age, pending approvals, runs in flight, the outbox, the last hour's
findings, how automated changes fared, the autopilot per environment and the kill switch."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from apps.analyst.models import AnalysisFinding
from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.selectors import outbox_backlog
from apps.executor.models import ExecRun
from apps.gate import selectors as gate
from apps.gate.models import KillSwitchFlip

LISTED = 50  # rows per list; the counts cover all


def open_cases_by_state(now) -> list[dict]:
    """Per open state: how many cases, the oldest one's creation time, and counts by age."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    rows = (
        OpsCase.objects.filter(state__in=wf.OPEN_STATES)
        .values("state")
        .annotate(
            total=Count("pk"),
            oldest=Min("created_at"),
            under_hour=Count("pk", filter=Q(created_at__gte=hour)),
            under_day=Count("pk", filter=Q(created_at__gte=day, created_at__lt=hour)),
            older=Count("pk", filter=Q(created_at__lt=day)),
        )
    )
    by_state = {row["state"]: row for row in rows}
    return [
        by_state.get(state, {"state": state, "total": 0}) | {"state": state}
        for state in wf.OPEN_STATES
    ]


def runs_in_flight() -> tuple[list[ExecRun], int]:
    running = ExecRun.objects.filter(status=ExecRun.RUNNING)
    listed = list(running.select_related("case").order_by("created_at")[:LISTED])
    return listed, len(listed) if len(listed) < LISTED else running.count()


def recent_findings(now) -> tuple[list[AnalysisFinding], int]:
    recent = AnalysisFinding.objects.filter(started_at__gte=now - timedelta(hours=1))
    listed = list(recent.order_by("-started_at")[:LISTED])
    return listed, len(listed) if len(listed) < LISTED else recent.count()


def automated_outcomes(now, window: timedelta) -> dict:
    """Cases whose change the policy approved (no person decided) and whose run started in
    `window`: how many closed (verified), were rolled back, parked otherwise, or are still
    open; `rate` = closed / (closed + rolled back + parked), None before any ended."""
    cases = OpsCase.objects.filter(
        approvals__decision__kind="policy", approvals__consumed_at__gte=now - window
    )
    rolled_back = Q(state=wf.PARKED, exec_runs__status=ExecRun.ROLLED_BACK)
    counts = cases.aggregate(
        closed=Count("pk", filter=Q(state=wf.CLOSED), distinct=True),
        parked=Count("pk", filter=Q(state=wf.PARKED), distinct=True),
        rolled_back=Count("pk", filter=rolled_back, distinct=True),
        open=Count("pk", filter=Q(state__in=wf.OPEN_STATES), distinct=True),
    )
    ended = counts["closed"] + counts["parked"]
    counts["parked_other"] = counts["parked"] - counts["rolled_back"]
    counts["rate"] = counts["closed"] / ended if ended else None
    return counts


def dashboard() -> dict:
    now = timezone.now()
    runs, runs_total = runs_in_flight()
    findings, findings_total = recent_findings(now)
    backlog, lag = outbox_backlog()
    pending = gate.pending_entries(limit=LISTED)
    return {
        "now": now,
        "states": open_cases_by_state(now),
        "pending": pending,
        "runs": runs,
        "runs_total": runs_total,
        "outbox_backlog": backlog,
        "outbox_lag_s": lag,
        "findings": findings,
        "findings_total": findings_total,
        "outcomes": [
            ("last 24 h", automated_outcomes(now, timedelta(days=1))),
            ("last 7 d", automated_outcomes(now, timedelta(days=7))),
        ],
        "autopilot": gate.autopilot_settings(),
        "kill_switch": gate.kill_switch(),
        "flips": list(KillSwitchFlip.objects.order_by("-created_at")[:5]),
    }
