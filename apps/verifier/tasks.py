"""Thin Celery tasks of the Verifier."""

import logging

from celery import shared_task
from django.conf import settings

from aiops.sweeps import first_in_window
from apps.cases.services import case_park
from apps.verifier import services

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def verify_case(self, case_id: str) -> str:
    """Verify a case; after the last retry of an unexpected error, park it with the error."""
    try:
        result = services.verify_case(case_id=case_id)
    except Exception as exc:
        if self.request.retries >= settings.HANDLER_MAX_RETRIES:
            log.exception("verification of case %s gave up", case_id)
            case_park(
                case_id=case_id,
                actor=services.ACTOR,
                reason=f"verification failed: {type(exc).__name__}: {exc}",
            )
            return "parked"
        countdown = settings.HANDLER_RETRY_BACKOFF_SECONDS * (2**self.request.retries)
        raise self.retry(
            exc=exc, countdown=countdown, max_retries=settings.HANDLER_MAX_RETRIES
        ) from exc
    return "skipped" if result is None else ("passed" if result["passed"] else "not passed")


@shared_task(ignore_result=True)
def sweep_verifications() -> int:
    """Run verifications whose task was lost (scheduled in CELERY_BEAT_SCHEDULE)."""
    if not first_in_window("verify-sweep", 5):
        return 0
    return services.verifications_kick_overdue()
