"""Thin Celery tasks of the Gatekeeper."""

from celery import shared_task

from aiops.sweeps import first_in_window
from apps.gate import services


@shared_task(ignore_result=True)
def expire_pending_approvals() -> int:
    """Park cases whose pending human approval outlived the policy's TTL (beat, every minute)."""
    return services.gate_expire_pending()


@shared_task(ignore_result=True)
def release_deferred() -> int:
    """Judge again cases the blast radius held back (beat, every minute; normally a finished
    run releases the next one at once)."""
    if not first_in_window("release-deferred", 30):
        return 0
    return services.gate_release_all_deferred()
