"""Periodic housekeeping of the platform's own tables (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from aiops import idempotency


@shared_task(ignore_result=True)
def expire_idempotency() -> int:
    """Delete Idempotency-Key records past their TTL; return how many."""
    return idempotency.expire_records()
