"""Thin Celery task of the notifications (control plane; beat sweeps it too)."""

from celery import shared_task

from apps.notify.services import send_due


@shared_task(ignore_result=True)
def send_notifications() -> dict:
    return send_due()
