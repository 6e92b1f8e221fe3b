"""Read queries over cases, for the API, the admin and other modules."""

import uuid

from aiops.middleware import case_id_var
from apps.cases.exceptions import CaseNotFound
from apps.cases.models import CaseTimeline, OpsCase, Outbox


def case_list():
    return OpsCase.objects.all()


def case_get(case_id) -> OpsCase:
    try:
        uuid.UUID(str(case_id))
        case = OpsCase.objects.get(pk=case_id)
    except (OpsCase.DoesNotExist, ValueError):
        raise CaseNotFound(f"No case {case_id}.") from None
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
