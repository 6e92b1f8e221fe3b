"""Bounded growth: the Orchestrator's tables (outbox, inbox) and closed cases.

Every delete goes in batches, each its own short transaction: no long lock, and the loop
goes on between batches. A closed case past retention is archived first — its summary
(apps.cases.archive) in case_archive — then deleted with every detail row (cascade).
Other modules expire their own tables through `retention_step` hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.cases import archive
from apps.cases import workflow as wf
from apps.cases.models import CaseArchive, OpsCase

log = logging.getLogger(__name__)
_STEPS: dict[str, Callable[[datetime], int]] = {}
CASE_BATCH = 100  # a case cascades to many rows: fewer per transaction


def retention_step(name: str):
    """Register a module's expiry: a function of `now` returning how many rows (or files)
    it removed; it batches its own deletes."""

    def register(func):
        _STEPS[name] = func
        return func

    return register


def delete_batched(table: str, key: str, where: str, params: list) -> int:
    """DELETE … WHERE `where`, RETAIN_BATCH rows per transaction, until none is left."""
    total = 0
    # table, key and where are the callers' constants; values travel as parameters.
    sql = f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} LIMIT %s)"  # noqa: S608
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, settings.RETAIN_BATCH])
            deleted = cursor.rowcount
        total += deleted
        if deleted < settings.RETAIN_BATCH:
            return total


@retention_step("outbox")
def events_expire(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.RETAIN_EVENTS_DAYS)
    return delete_batched("outbox", "seq", "delivered_at < %s", [cutoff])


@retention_step("inbox")
def inbox_expire(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.RETAIN_INBOX_DAYS)
    return delete_batched("inbox", "id", "processed_at < %s", [cutoff])


@retention_step("cases")
def cases_archive_and_expire(now: datetime) -> int:
    """Archive, then delete, cases closed more than RETAIN_CASES_DAYS ago."""
    cutoff = now - timedelta(days=settings.RETAIN_CASES_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            cases = list(
                OpsCase.objects.select_for_update(skip_locked=True)
                .filter(state=wf.CLOSED, updated_at__lt=cutoff)
                .order_by("updated_at")[:CASE_BATCH]
            )
            if not cases:
                return total
            CaseArchive.objects.bulk_create(
                [
                    CaseArchive(
                        case_id=case.pk,
                        title=case.title,
                        service=case.service,
                        environment=case.environment,
                        state=case.state,
                        created_at=case.created_at,
                        closed_at=case.updated_at,
                        summary=archive.case_summary(case),
                    )
                    for case in cases
                ],
                ignore_conflicts=True,
            )
            OpsCase.objects.filter(pk__in=[c.pk for c in cases]).delete()
        total += len(cases)


def run_retention(now: datetime | None = None) -> dict[str, int]:
    """Every registered expiry, each failing alone (logged) without stopping the others."""
    now = now or timezone.now()
    done = {}
    for name, step in sorted(_STEPS.items()):
        try:
            done[name] = step(now)
        except Exception:
            log.exception("retention step %s failed", name)
            done[name] = -1
    return done
