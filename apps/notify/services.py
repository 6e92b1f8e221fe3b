"""Notifications: written with the event that causes them, sent with retries.

`notify()` runs inside a subscriber's delivery transaction and only writes rows (one per
configured receiver); `send_due()` — kicked after commit and swept by beat — posts what is
due, each row locked while it is sent (SKIP LOCKED: senders never post one row twice at
once), and on failure schedules the next attempt with backoff from the database.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from aiops.commit import after_commit
from apps.notify import messages
from apps.notify.models import Notification

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
BACKOFF_MAX_S = 3600


def case_url(case_id) -> str:
    return f"{settings.PUBLIC_URL}/admin/cases/opscase/{case_id}/change/"


def notify(*, event_id: str, what: str, case, reason: str) -> int:
    """One row per receiver in AIOPS_NOTIFY_WEBHOOKS (caller's transaction); a redelivered
    event writes nothing more. Returns how many were written."""
    if what not in settings.NOTIFY_ON or not settings.NOTIFY_WEBHOOKS:
        return 0
    facts = {
        "id": str(case.pk),
        "title": case.title,
        "service": case.service,
        "environment": case.environment,
        "severity": case.severity,
        "state": case.state,
    }
    url, at = case_url(case.pk), timezone.now().isoformat()
    written = 0
    for kind, target in settings.NOTIFY_WEBHOOKS:
        payload = messages.BUILDERS[kind](what=what, case=facts, reason=reason, url=url, at=at)
        try:
            with transaction.atomic():
                Notification.objects.create(
                    event_id=event_id,
                    case_id=str(case.pk),
                    kind=kind,
                    url=target,
                    what=what,
                    payload=payload,
                )
            written += 1
        except IntegrityError:
            continue
    if written:
        after_commit(_kick, what="queueing notifications")
    return written


def _kick() -> None:
    from apps.notify.tasks import send_notifications

    send_notifications.delay()


def send_due(*, now=None, limit: int = 50) -> dict:
    """Post every due notification once; reschedule failures with backoff."""
    sent = failed = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, next_at__lte=now, attempts__lt=MAX_ATTEMPTS)
                .order_by("next_at")[:limit]
            )
            for row in batch:
                error = _post(row)
                row.attempts += 1
                if error is None:
                    row.sent_at, row.last_error = timezone.now(), ""
                    sent += 1
                else:
                    delay = min(BACKOFF_MAX_S, settings.NOTIFY_BACKOFF_S * 2 ** (row.attempts - 1))
                    row.next_at, row.last_error = now + timedelta(seconds=delay), error
                    failed += 1
                    log.warning(
                        "notification %s to %s failed (%s); next in %ss",
                        row.pk,
                        row.kind,
                        error,
                        delay,
                    )
                row.save(update_fields=["attempts", "sent_at", "next_at", "last_error"])
        if len(batch) < limit:
            return {"sent": sent, "failed": failed}


def _post(row: Notification) -> str | None:
    try:
        response = requests.post(
            row.url, json=row.payload, timeout=(3, settings.NOTIFY_TIMEOUT_S), allow_redirects=False
        )
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"
