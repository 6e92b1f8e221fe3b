"""Findings into cases: the Orchestrator opens one case per group of findings (same
service, environment and kind), attaches later findings to it, keeps quiet for a cooldown
after it closes, and lets a case close itself when its findings resolve before it changed
anything. Runs in the delivery transaction of the finding's event.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.services import ACTOR, case_create, fire, timeline_note

ANALYST = "system:analyst"
MAX_ATTACHED = 200  # finding ids kept on a case; the rest are counted


def finding_correlate(finding: dict) -> OpsCase | None:
    """Open or attach the case for a newly firing finding; None when a cooldown holds it."""
    key = wf.correlation_key(finding)
    _lock(key)
    now = timezone.now()
    case = _open_case(key, now)
    if case is not None:
        _attach(case, finding)
        return case
    cooldown = now - timedelta(minutes=settings.FINDING_COOLDOWN_MINUTES)
    closed = (
        OpsCase.objects.filter(labels__correlation=key, state=wf.CLOSED, updated_at__gte=cooldown)
        .order_by("-updated_at")
        .first()
    )
    if closed is not None:
        timeline_note(
            closed,
            event="finding_suppressed",
            actor=ACTOR,
            reason=f"{_describe(finding)}: within the {settings.FINDING_COOLDOWN_MINUTES}-minute "
            "cooldown after this case closed",
            data={"finding": finding},
        )
        return None
    return case_create(
        actor=None,
        actor_label=ACTOR,
        title=(finding.get("summary") or _describe(finding))[:200],
        service=finding["service"],
        environment=finding["environment"],
        severity=finding.get("severity") or "sev3",
        description=f"Opened by the Orchestrator from {_describe(finding)}.",
        labels={
            "finding": finding,
            "findings": [finding["id"]],
            "firing": [finding["id"]],
            "correlation": key,
            "source": finding.get("source", ""),
        },
    )


def finding_resolved(finding: dict) -> OpsCase | None:
    """Note a resolved finding on its case; with AIOPS_CLOSE_ON_RESOLVE, a case none of
    whose findings still fire and that changed nothing yet parks and closes."""
    _lock(wf.correlation_key(finding))
    case = (
        OpsCase.objects.select_for_update()
        .filter(labels__findings__contains=[finding["id"]])
        .exclude(state=wf.CLOSED)
        .first()
    )
    if case is None:
        return None
    firing = [f for f in case.labels.get("firing", []) if f != finding["id"]]
    case.labels = {**case.labels, "firing": firing}
    case.save(update_fields=["labels", "updated_at"])
    timeline_note(
        case, event="finding_resolved", actor=ANALYST, reason=_describe(finding), data=finding
    )
    if firing or not settings.CLOSE_ON_RESOLVE or case.state not in wf.UNCHANGED_STATES:
        return case
    reason = "every finding resolved before any change was made"
    fire(case, "park", actor=ACTOR, reason=reason)
    fire(case, "close", actor=ACTOR, reason=reason)
    return case


def _open_case(key: str, now) -> OpsCase | None:
    """The case this group's findings join: the newest not closed, unless it has been parked
    longer than the correlation window (then a fresh case is the clearer story)."""
    case = (
        OpsCase.objects.select_for_update()
        .filter(labels__correlation=key)
        .exclude(state=wf.CLOSED)
        .order_by("-created_at")
        .first()
    )
    window = timedelta(minutes=settings.CORRELATION_MINUTES)
    if case is not None and case.state == wf.PARKED and now - case.updated_at > window:
        return None
    return case


def _attach(case: OpsCase, finding: dict) -> None:
    labels = dict(case.labels)
    ids = labels.get("findings", [])
    if finding["id"] in ids:
        return
    labels["findings"] = [*ids, finding["id"]][-MAX_ATTACHED:]
    labels["firing"] = [*labels.get("firing", []), finding["id"]][-MAX_ATTACHED:]
    labels["attached"] = labels.get("attached", 0) + 1
    case.labels = labels
    case.save(update_fields=["labels", "updated_at"])
    timeline_note(
        case, event="finding_attached", actor=ANALYST, reason=_describe(finding), data=finding
    )


def _lock(key: str) -> None:
    """One correlation group at a time: two findings of one group never open two cases."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ["corr:" + key])


def _describe(finding: dict) -> str:
    where = f"{finding.get('service')}/{finding.get('environment')}"
    rule = finding.get("rule") or finding.get("source", "")
    return f"{finding.get('kind')} finding on {where} ({rule}): {finding.get('summary', '')}"[:500]
