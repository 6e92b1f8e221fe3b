"""Reads over verifications, for the API, the guard and the sweeper."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, Max, Q, Subquery

from aiops.prepared import prepared
from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline, OpsCase
from apps.verifier.evaluate import FAIL, INCONCLUSIVE
from apps.verifier.models import VerifyCheckpoint

# Distinct (template, check) pairs a stats answer lists at most.
STATS_LIMIT = 500


def case_checkpoints(case: OpsCase):
    """Every checkpoint of a case, newest verification first, checks in plan order."""
    return VerifyCheckpoint.objects.filter(case=case).order_by("-created_at", "position")


def latest_verification(case) -> list[VerifyCheckpoint]:
    """The checkpoints of the case's most recent verification ([] when none ran)."""
    return _latest_verification(case.pk)


@prepared
def _latest_verification(case_id):
    newest = VerifyCheckpoint.objects.filter(case_id=case_id).order_by("-created_at", "-id")
    return VerifyCheckpoint.objects.filter(
        verification_id=Subquery(newest.values("verification_id")[:1])
    ).order_by("position")


def verifying_entry(case) -> CaseTimeline | None:
    """The timeline row of the case's latest entry into VERIFYING."""
    return _verifying_entry.first(case.pk)


@prepared
def _verifying_entry(case_id):
    return (
        CaseTimeline.objects.filter(case_id=case_id, to_state=wf.VERIFYING)
        .exclude(from_state=wf.VERIFYING)
        .order_by("-id")[:1]
    )


def verified(verification_id) -> bool:
    """Has this verification written its checkpoints?"""
    return bool(_checkpoint_of(verification_id))


@prepared
def _checkpoint_of(verification_id):
    rows = VerifyCheckpoint.objects.filter(verification_id=verification_id)
    return rows.order_by().values_list("pk", flat=True)[:1]


def change_time(case) -> datetime | None:
    """When the change began: the latest entry into EXECUTING (else into VERIFYING)."""
    for state in (wf.EXECUTING, wf.VERIFYING):
        entered = _latest_entry.first(case.pk, state)
        if entered is not None:
            return entered
    return None


@prepared
def _latest_entry(case_id, state):
    rows = CaseTimeline.objects.filter(case_id=case_id, to_state=state).exclude(from_state=state)
    return rows.order_by("-id").values_list("created_at", flat=True)[:1]


def dry_run_check_stats(*, since: datetime) -> list[dict]:
    """Per dry-run check (the plan template and the check's name) since `since`: how often
    it was judged and how often it would have failed the verification had it decided.
    One grouped query over the partial index of dry-run checkpoints."""
    rows = (
        VerifyCheckpoint.objects.filter(dry_run=True, created_at__gte=since)
        .values(template=F("plan__template"), name=F("check_name"))
        .annotate(
            evaluations=Count("id"),
            would_have_failed=Count("id", filter=Q(result=FAIL)),
            inconclusive=Count("id", filter=Q(result=INCONCLUSIVE)),
            last_evaluated=Max("created_at"),
        )
        .order_by("-evaluations", "template", "name")[:STATS_LIMIT]
    )
    return [
        {
            **row,
            "template": row["template"] or "",
            "would_have_failed_rate": round(row["would_have_failed"] / row["evaluations"], 4),
        }
        for row in rows
    ]
