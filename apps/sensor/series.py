"""Reads of metric_1m for the Analyst: which series changed, and their minute values.

Set-based: one statement returns every asked series' window as arrays, so a pass over
thousands of series is a handful of round trips.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

SeriesKey = tuple[str, str, str]  # service, metric, labels as canonical JSON (sorted keys)


def canonical(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(", ", ": "))


@dataclass(frozen=True)
class SeriesWindow:
    key: SeriesKey
    start: datetime  # the first minute of the window
    values: list[float | None]  # one per minute from start; None: no point that minute

    @property
    def labels(self) -> dict:
        return json.loads(self.key[2])


def changed_series(*, since: datetime, service: str | None = None) -> list[SeriesKey]:
    """Series with a point received at or after `since` (any minute)."""
    sql = "SELECT DISTINCT service, metric, labels::text FROM metric_1m WHERE received_at >= %s"
    args: list = [since]
    if service:
        sql += " AND service = %s"
        args.append(service)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [_key(row) for row in cursor.fetchall()]


def active_series(*, start: datetime, end: datetime, service: str | None = None) -> list[SeriesKey]:
    """Series with a point for a minute in [start, end]."""
    sql = (
        "SELECT DISTINCT service, metric, labels::text FROM metric_1m "
        "WHERE minute BETWEEN %s AND %s"
    )
    args: list = [start, end]
    if service:
        sql += " AND service = %s"
        args.append(service)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [_key(row) for row in cursor.fetchall()]


def windows(
    keys: list[SeriesKey], *, start: datetime, minutes: int
) -> dict[SeriesKey, SeriesWindow]:
    """The minute values of each series from `start` for `minutes` minutes."""
    if not keys or minutes <= 0:
        return {}
    sql = """
        WITH wanted AS (
            SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS w(service, metric, labels)
        )
        SELECT m.service, m.metric, m.labels::text,
               array_agg(((extract(epoch FROM m.minute)
                           - extract(epoch FROM %s::timestamptz)) / 60)::int),
               array_agg(m.value)
        FROM metric_1m m
        JOIN wanted w ON m.service = w.service AND m.metric = w.metric AND m.labels = w.labels
        WHERE m.minute >= %s AND m.minute < %s::timestamptz + make_interval(mins => %s)
        GROUP BY 1, 2, 3
    """
    args = [
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        start,
        start,
        start,
        minutes,
    ]
    out: dict[SeriesKey, SeriesWindow] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        for service, metric, labels, offsets, values in cursor.fetchall():
            key = _key((service, metric, labels))
            row: list[float | None] = [None] * minutes
            for offset, value in zip(offsets, values, strict=True):
                if 0 <= offset < minutes:
                    row[offset] = value
            out[key] = SeriesWindow(key=key, start=start, values=row)
    return out


def _key(row) -> SeriesKey:
    service, metric, labels = row
    return (
        service,
        metric,
        canonical(json.loads(labels)) if isinstance(labels, str) else canonical(labels),
    )
