"""Thin Celery tasks of the Analyst."""

from celery import shared_task

from apps.analyst.scan import run_pass


@shared_task(ignore_result=True)
def scan() -> dict:
    """The periodic analysis pass (CELERY_BEAT_SCHEDULE "analyst-scan"; django-celery-beat
    shows it in the admin). Skips when another pass is running."""
    result = run_pass()
    return {"skipped": result.skipped, "series": result.series, "opened": len(result.opened)}
