"""Sensor writes: the metric and log_pattern_5m upserts, log mining, evidence hints, and the
retention of the time series."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.cases.selectors import case_get
from apps.sensor import hints, mining, staging
from apps.sensor.exceptions import InvalidHint, SeriesCollision
from apps.sensor.models import EvidenceLink, LogPattern5m, OoLocator
from apps.sensor.patterns import LogBatch, PatternCount
from apps.sensor.points import Point


def metrics_upsert(*, points: list[Point]) -> int:
    """Upsert validated points (at most one per series and minute, see points.parse_points)
    into metric_series and metric_1m in one transaction. Returns how many points were written.
    Raises SeriesCollision, with nothing written, if a series hashes to another's id."""
    if not points:
        return 0
    series, rows = staging.split(points)  # a Point is (minute, service, metric, labels, value)
    with transaction.atomic(), connection.cursor() as cursor:
        # The psycopg cursor under Django's wrapper: COPY is not part of the DB-API. Its errors
        # become Django's, as the wrapper's would (a lost connection answers 503, not 500).
        with connection.wrap_database_errors:
            written, collided = staging.copy_upsert(cursor.cursor, series, rows)
        if collided:
            raise SeriesCollision.of([series[i] for i in collided])
        return written


def metrics_expire(*, now: datetime | None = None, batch: int = 50_000) -> int:
    """Delete metric_1m minutes older than METRIC_RETENTION_DAYS, in batches so a large
    backlog never holds one long transaction, then the series left with no minute. Returns
    how many minutes went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.METRIC_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(EXPIRE_MINUTES, [cutoff, batch])
            if not cursor.rowcount:
                break
            total += cursor.rowcount
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(EXPIRE_SERIES, [cutoff])
    return total


# By physical row: metric_1m's key is (series, minute), and retention's scan is by minute
# (its BRIN index).
EXPIRE_MINUTES = """
DELETE FROM metric_1m WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM metric_1m WHERE minute < %s LIMIT %s))
"""
# A series written again while this runs may lose its row here and keep its new minute: the
# next write of the series puts the row back under the same id (staging.series_id), and
# readers join the two tables, so until then the minute is merely not shown.
EXPIRE_SERIES = """
DELETE FROM metric_series s WHERE s.created_at < %s
AND NOT EXISTS (SELECT 1 FROM metric_1m m WHERE m.series_id = s.id)
"""


# One statement per batch as well; repeats of a (service, pattern, bucket) in the batch are
# summed first (ON CONFLICT may touch a row once per statement), then added to the stored
# count, saturating at bigint's maximum. The template is the last non-empty one given.
PATTERN_UPSERT = """
INSERT INTO log_pattern_5m (bucket, service, pattern_id, template, count)
SELECT bucket, service, pattern_id,
       coalesce((array_agg(template ORDER BY position DESC)
                 FILTER (WHERE template <> ''))[1], ''),
       least(sum(count), 9223372036854775807)::bigint
FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::bigint[])
     WITH ORDINALITY AS item(bucket, service, pattern_id, template, count, position)
GROUP BY bucket, service, pattern_id
ON CONFLICT (service, pattern_id, bucket) DO UPDATE SET
    count = least(log_pattern_5m.count::numeric + EXCLUDED.count, 9223372036854775807)::bigint,
    template = coalesce(nullif(EXCLUDED.template, ''), log_pattern_5m.template)
"""


def log_patterns_add(*, counts: list[PatternCount]) -> int:
    """Add validated pattern counts (patterns.parse_pattern_counts) to log_pattern_5m in one
    statement and transaction: counts add up, within the batch and across calls (a caller
    that redelivers must send the same Idempotency-Key). Returns the rows written."""
    if not counts:
        return 0
    columns = (
        [c.bucket for c in counts],
        [c.service for c in counts],
        [c.pattern_id for c in counts],
        [c.template for c in counts],
        [c.count for c in counts],
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PATTERN_UPSERT, columns)
        return cursor.rowcount


def logs_mine(*, batches: list[LogBatch]) -> list[dict]:
    """Mine each line into a template with the service's Drain3 miner (apps.sensor.mining)
    and count them per (service, template, 5-minute bucket) into log_pattern_5m. Mining,
    counts and the miners' new state commit together; services are locked in name order so
    two requests naming the same services cannot deadlock. Returns, per service and
    template, `{service, pattern_id, template, count}` of this request."""
    lines: dict[str, list] = {}
    for batch in batches:
        lines.setdefault(batch.service, []).extend(batch.lines)
    counts: list[PatternCount] = []
    with transaction.atomic():
        for service in sorted(lines):
            mined = mining.mine(service, [line.line for line in lines[service]])
            counts += [
                PatternCount(line.bucket, service, found.pattern_id, found.template, 1)
                for line, found in zip(lines[service], mined, strict=True)
            ]
        log_patterns_add(counts=counts)
    summary: dict[tuple[str, str], dict] = {}
    for count in counts:
        entry = summary.setdefault(
            (count.service, count.pattern_id),
            {"service": count.service, "pattern_id": count.pattern_id, "count": 0},
        )
        entry["template"] = count.template
        entry["count"] += 1
    return list(summary.values())


def log_patterns_expire(*, now: datetime | None = None, batch: int = 50_000) -> int:
    """Delete log_pattern_5m buckets older than LOG_PATTERN_RETENTION_DAYS, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LOG_PATTERN_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                LogPattern5m.objects.filter(bucket__lt=cutoff).values_list("id", flat=True)[:batch]
            )
            if not ids:
                return total
            total += LogPattern5m.objects.filter(id__in=ids).delete()[0]


def hint_write(
    *,
    target_kind: str,
    target_id: str,
    case_id=None,
    locators: list[dict],
    note: str = "",
    actor: str,
) -> list[EvidenceLink]:
    """Store the locators of a hint and link each to its target (a case, a finding or a step
    of `case_id`), in one transaction — the caller's, when it has one (the Analyst's).
    Raises InvalidHint (400, per-item errors) for invalid input and CaseNotFound (404) when
    the named case does not exist. Returns the links, each with its locator."""
    hint, errors = hints.check_hint(
        target_kind=target_kind,
        target_id=target_id,
        case_id=case_id,
        locators=locators,
        note=note,
        max_locators=settings.HINT_MAX_LOCATORS,
        max_range=timedelta(days=settings.HINT_MAX_RANGE_DAYS),
    )
    if errors:
        raise InvalidHint.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
    now = timezone.now()
    with transaction.atomic():
        if hint.case_id is not None:
            case_get(hint.case_id)
        rows = OoLocator.objects.bulk_create(
            [
                OoLocator(
                    system=loc.system,
                    stream=loc.stream,
                    query=loc.query,
                    time_from=loc.time_from,
                    time_to=loc.time_to,
                    labels=loc.labels,
                    url=loc.url,
                    created_at=now,
                )
                for loc in hint.locators
            ]
        )
        return EvidenceLink.objects.bulk_create(
            [
                EvidenceLink(
                    locator=row,
                    target_kind=hint.target_kind,
                    target_id=hint.target_id,
                    case_id=hint.case_id,
                    note=hint.note,
                    created_at=now,
                    created_by=actor,
                )
                for row in rows
            ]
        )
