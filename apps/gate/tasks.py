"""Thin Celery tasks of the Gatekeeper."""

from celery import shared_task

from apps.gate import services


@shared_task(ignore_result=True)
def expire_pending_approvals() -> int:
    """Park cases whose pending human approval outlived the policy's TTL (beat, every minute)."""
    return services.gate_expire_pending()
