"""Sensor reads other modules may use (the Planner asks what was ever ingested)."""

from collections.abc import Iterable

from apps.sensor.models import Metric1m


def unobserved_metrics(*, service: str, metrics: Iterable[str]) -> set[str]:
    """Which of `metrics` have no metric_1m minute for `service` (within the retention: older
    minutes are deleted). One indexed existence probe per name."""
    return {
        metric
        for metric in set(metrics)
        if not Metric1m.objects.filter(service=service, metric=metric).exists()
    }
