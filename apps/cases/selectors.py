"""Read queries over cases, for the API, the admin and other modules."""

import uuid

from django.db.models import F, Q

from aiops import rows
from aiops.middleware import case_id_var
from apps.cases import workflow as wf
from apps.cases.exceptions import CaseNotFound
from apps.cases.models import CaseTimeline, OpsCase, Outbox


def case_list():
    return OpsCase.objects.all()


def case_get(case_id) -> OpsCase:
    """The case with its creator (the API shows it), or CaseNotFound. A statement built once
    (aiops.rows): clients poll a case while it moves."""
    try:
        uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound(f"No case {case_id}.") from None
    case = rows.get(OpsCase, case_id, related="created_by")
    if case is None:
        raise CaseNotFound(f"No case {case_id}.")
    case_id_var.set(str(case.pk))
    return case


def case_timeline(case: OpsCase):
    return CaseTimeline.objects.filter(case=case).order_by("id")


def outbox_backlog() -> tuple[int, float]:
    """(unpublished events, age in seconds of the oldest of them)."""
    from django.db.models import Count, Min
    from django.utils import timezone

    stats = Outbox.objects.filter(published_at__isnull=True).aggregate(
        n=Count("seq"), t=Min("time")
    )
    oldest = stats["t"]
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return stats["n"], lag


# Timeline notes of a failed verification: a person is asked, or it was settled.
VERIFY_DECISION_PENDING = "verify_decision_pending"
VERIFY_ROLLBACK_REQUESTED = "verify_rollback_requested"
VERIFY_ACCEPTED = "verify_accepted"


def verify_decision_pending(case) -> CaseTimeline | None:
    """The note asking a person to roll back or accept, while the case still waits on it:
    parked by verify_failed, not moved since, and nobody decided yet."""
    if case.state != wf.PARKED:
        return None
    latest = (
        CaseTimeline.objects.filter(case=case)
        .filter(
            Q(event__in=(VERIFY_DECISION_PENDING, VERIFY_ROLLBACK_REQUESTED, VERIFY_ACCEPTED))
            | ~Q(from_state=F("to_state"))
        )
        .order_by("-id")
        .first()
    )
    return latest if latest is not None and latest.event == VERIFY_DECISION_PENDING else None
