"""Sensor writes: the metric_1m batch upsert and its retention."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.sensor.models import Metric1m
from apps.sensor.points import Point

# One statement per batch: the arrays travel as five parameters, unnest() turns them into
# rows, and a repeated (series, minute) replaces the stored value.
UPSERT = """
INSERT INTO metric_1m (minute, service, metric, labels, value)
SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::jsonb[], %s::float8[])
ON CONFLICT (service, metric, labels, minute)
DO UPDATE SET value = EXCLUDED.value, received_at = now()
"""


def metrics_upsert(*, points: list[Point]) -> int:
    """Upsert validated points (at most one per series and minute, see points.parse_points)
    into metric_1m in one transaction. Returns how many rows were written."""
    if not points:
        return 0
    columns = (
        [p.minute for p in points],
        [p.service for p in points],
        [p.metric for p in points],
        [json.dumps(p.labels, sort_keys=True) for p in points],
        [p.value for p in points],
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPSERT, columns)
        return cursor.rowcount


def metrics_expire(*, now: datetime | None = None, batch: int = 50_000) -> int:
    """Delete metric_1m minutes older than METRIC_RETENTION_DAYS, in batches so a large
    backlog never holds one long transaction. Returns how many rows went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.METRIC_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Metric1m.objects.filter(minute__lt=cutoff).values_list("id", flat=True)[:batch]
            )
            if not ids:
                return total
            total += Metric1m.objects.filter(id__in=ids).delete()[0]
