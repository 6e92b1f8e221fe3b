"""Thin Celery tasks of the Sensor."""

from celery import shared_task

from apps.sensor import services


@shared_task(ignore_result=True)
def expire_metrics() -> int:
    """Retention of metric_1m (scheduled in CELERY_BEAT_SCHEDULE)."""
    return services.metrics_expire()


@shared_task(ignore_result=True)
def expire_log_patterns() -> int:
    """Retention of log_pattern_5m (scheduled in CELERY_BEAT_SCHEDULE)."""
    return services.log_patterns_expire()
