"""Reads of metric_1m for the Analyst: which series changed, and their minute values.

Set-based: one statement returns every asked series' window as arrays, so a pass over
thousands of series is a handful of round trips.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.sensor.staging import canonical_labels as canonical
from apps.sensor.staging import series_id

SeriesKey = tuple[str, str, str]  # service, metric, labels as canonical JSON (sorted keys)


@dataclass(frozen=True)
class SeriesWindow:
    key: SeriesKey
    start: datetime  # the first minute of the window
    values: list[float | None]  # one per minute from start; None: no point that minute
    first: int = 0  # the index of the first minute with a point

    @property
    def labels(self) -> dict:
        return json.loads(self.key[2])


def changed_series(*, since: datetime, service: str | None = None) -> list[SeriesKey]:
    """Series with a point received at or after `since` (any minute)."""
    sql = (
        "SELECT service, metric, labels::text FROM metric_series WHERE id IN "
        "(SELECT series_id FROM metric_1m WHERE received_at >= %s)"
    )
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
        "SELECT service, metric, labels::text FROM metric_series WHERE id IN "
        "(SELECT series_id FROM metric_1m WHERE minute BETWEEN %s AND %s)"
    )
    args: list = [start, end]
    if service:
        sql += " AND service = %s"
        args.append(service)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [_key(row) for row in cursor.fetchall()]


# Above this many series a pass reads the whole time range once and keeps what it wants: one
# sequential aggregate beats thousands of index probes (measured in make bench-analyst).
RANGE_SCAN_FROM = 1000


def windows(
    keys: list[SeriesKey], *, start: datetime, minutes: int
) -> dict[SeriesKey, SeriesWindow]:
    """The minute values of each series from `start` for `minutes` minutes."""
    if not keys or minutes <= 0:
        return {}
    select = """
        SELECT s.service, s.metric, s.labels::text,
               array_agg(((extract(epoch FROM m.minute)
                           - extract(epoch FROM %(start)s::timestamptz)) / 60)::int),
               array_agg(m.value)
        FROM metric_1m m JOIN metric_series s ON s.id = m.series_id
        WHERE m.minute >= %(start)s
          AND m.minute < %(start)s::timestamptz + make_interval(mins => %(minutes)s)
    """
    args = {"start": start, "minutes": minutes}
    wanted = set(keys)
    if len(keys) < RANGE_SCAN_FROM:
        select += " AND m.series_id = ANY(%(ids)s::bigint[])"
        args["ids"] = [series_id(*key) for key in keys]
    out: dict[SeriesKey, SeriesWindow] = {}
    with connection.cursor() as cursor:
        cursor.execute(select + " GROUP BY s.id", args)
        for service, metric, labels, offsets, values in cursor.fetchall():
            key = _key((service, metric, labels))
            if key not in wanted:
                continue
            row: list[float | None] = [None] * minutes
            for offset, value in zip(offsets, values, strict=True):
                if 0 <= offset < minutes:
                    row[offset] = value
            out[key] = SeriesWindow(key=key, start=start, values=row, first=min(offsets))
    return out


def _key(row) -> SeriesKey:
    service, metric, labels = row
    return (
        service,
        metric,
        canonical(json.loads(labels)) if isinstance(labels, str) else canonical(labels),
    )


BUCKET = 5  # minutes per log_pattern_5m bucket


@dataclass(frozen=True)
class PatternWindow:
    service: str
    pattern_id: str
    template: str
    counts: list[float | None]  # one per bucket from the window's start; None: not seen
    history: int  # buckets since the service's first bucket in the window (its log history)


def pattern_windows(
    *, start: datetime, buckets: int, recent_from: datetime, service: str | None = None
) -> list[PatternWindow]:
    """Counts per 5-minute bucket from `start` for `buckets` buckets, of every pattern seen
    at or after `recent_from` (a pattern quiet since cannot be new or surging now)."""
    if buckets <= 0:
        return []
    sql = """
        WITH recent AS (
            SELECT DISTINCT service, pattern_id FROM log_pattern_5m
            WHERE bucket >= %(recent)s AND (%(service)s::text IS NULL OR service = %(service)s)
        ), firsts AS (
            SELECT service, min(bucket) AS first FROM log_pattern_5m
            WHERE bucket >= %(start)s AND service IN (SELECT service FROM recent)
            GROUP BY service
        )
        SELECT p.service, p.pattern_id, max(p.template), f.first,
               array_agg(((extract(epoch FROM p.bucket)
                           - extract(epoch FROM %(start)s::timestamptz)) / 300)::int),
               array_agg(p.count)
        FROM log_pattern_5m p
        JOIN recent r ON r.service = p.service AND r.pattern_id = p.pattern_id
        JOIN firsts f ON f.service = p.service
        WHERE p.bucket >= %(start)s
          AND p.bucket < %(start)s::timestamptz + make_interval(mins => %(minutes)s)
        GROUP BY p.service, p.pattern_id, f.first
    """
    args = {
        "start": start,
        "recent": recent_from,
        "service": service,
        "minutes": buckets * BUCKET,
    }
    out = []
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        for svc, pattern, template, first, offsets, counts in cursor.fetchall():
            row: list[float | None] = [None] * buckets
            for offset, count in zip(offsets, counts, strict=True):
                if 0 <= offset < buckets:
                    row[offset] = float(count)
            history = buckets - int((first - start).total_seconds() // (BUCKET * 60))
            out.append(PatternWindow(svc, pattern, template or "", row, history))
    return out
