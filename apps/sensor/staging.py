"""The metric upsert as PostgreSQL takes it fastest: a batch's series and points go by binary
COPY into session-local staging tables, then one statement each moves them: new series into
metric_series, points into metric_1m, a repeated (series, minute) replacing the stored value.
No Django here, so the ingest bench's database floor runs the very same statements through a
bare psycopg connection.

A series' id is a 64-bit hash of its service, metric and canonical labels (`series_id`), so a
point needs no lookup of its series, and metric_1m's only b-tree is its primary key
(docs/perf/ingest.md). A different series hashing to an id already taken is caught: the
series statement returns it, and the caller rolls the batch back.

Points go by COPY straight into metric_1m, PostgreSQL's cheapest insert, when none of them is
a minute already stored: the common case, a feeder sending each minute once. A batch that
repeats a stored minute fails that COPY on the primary key; a savepoint takes the partial COPY
back and the batch goes through staging and an upsert, which replaces the stored values
(docs/perf/ingest.md).

The staging tables empty in the merge statements themselves, so an enclosing transaction or
savepoint never sees a batch twice; a rollback discards it too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from psycopg.errors import UniqueViolation

# ON COMMIT DELETE ROWS: the commit truncates what the merges' DELETEs left as dead rows.
# Autovacuum never visits a temp table, so without it a long-lived session's staging tables
# grew with every batch, and every merge scanned all of it: 300 ms a request after a few
# thousand batches, against 13 ms on a fresh connection.
SERIES_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS metric_series_staging "
    "(id bigint, service text, metric text, labels text) ON COMMIT DELETE ROWS"
)
POINTS_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS metric_points_staging "
    "(series_id bigint, minute timestamptz, value float8) ON COMMIT DELETE ROWS"
)
COPY_SERIES = "COPY metric_series_staging FROM STDIN (FORMAT BINARY)"
SERIES_TYPES = ["int8", "text", "text", "text"]
COPY_NEW_POINTS = "COPY metric_1m (series_id, minute, value) FROM STDIN (FORMAT BINARY)"
COPY_POINTS = "COPY metric_points_staging FROM STDIN (FORMAT BINARY)"
POINT_TYPES = ["int8", "timestamptz", "float8"]
# The SELECT sees the table as it was before the INSERT: it compares only series stored
# earlier, which is where a collision can be. A series a concurrent batch adds is not compared;
# two keys colliding for the first time in the same instant is left to the odds (2^-64).
# Each batch row looks its series up by primary key: OFFSET 0 keeps the planner from turning
# the LATERAL into a join it may plan as a hash over all of metric_series. It did so while the
# table had no statistics (a new install, or after a TRUNCATE, until autovacuum analyzes it),
# and each batch then read every series: 14 ms a batch at 74,000 series, growing with them.
MERGE_SERIES = """
WITH batch AS (DELETE FROM metric_series_staging RETURNING *),
added AS (
    INSERT INTO metric_series (id, service, metric, labels)
    SELECT id, service, metric, labels::jsonb FROM batch
    ON CONFLICT (id) DO NOTHING
)
SELECT batch.id FROM batch CROSS JOIN LATERAL (
    SELECT service, metric, labels FROM metric_series WHERE id = batch.id OFFSET 0
) s
WHERE (s.service, s.metric, s.labels) IS DISTINCT FROM
      (batch.service, batch.metric, batch.labels::jsonb)
"""
MERGE_POINTS = """
WITH batch AS (DELETE FROM metric_points_staging RETURNING *)
INSERT INTO metric_1m (series_id, minute, value)
SELECT series_id, minute, value FROM batch
ON CONFLICT (series_id, minute) DO UPDATE SET value = EXCLUDED.value, received_at = now()
"""


def canonical_labels(labels: dict) -> str:
    """The one text of a label set: sorted keys, so equal sets hash alike."""
    return json.dumps(labels, sort_keys=True, separators=(", ", ": "))


def series_id(service: str, metric: str, labels: str) -> int:
    """The id of the series (`labels` in canonical form): a signed 64-bit BLAKE2b. Service and
    metric names cannot hold NUL (points.NAME), so the three parts never run together."""
    digest = hashlib.blake2b(
        f"{service}\0{metric}\0{labels}".encode(), digest_size=8, person=b"aiops-series"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def split(points: Iterable[tuple]) -> tuple[dict[int, tuple[str, str, str]], list[tuple]]:
    """`(minute, service, metric, labels dict, value)` points → (series by id, `(series id,
    minute, value)` rows), the arguments of copy_upsert, both in key order. Repeats of a series
    and minute collapse to the last value. A batch repeats few series: each is hashed once."""
    ids: dict[tuple, int] = {}
    series: dict[int, tuple[str, str, str]] = {}
    values: dict[int, dict] = {}  # series id → minute → value
    for minute, service, metric, labels, value in points:
        key = (service, metric, *labels.items())  # the items are pairs: no two sets alike
        found = ids.get(key)
        if found is None:
            text = canonical_labels(labels)
            found = ids[key] = series_id(service, metric, text)
            if found not in series:  # the same labels in another order: the same series
                series[found] = (service, metric, text)
                values[found] = {}
        values[found][minute] = value
    # In key order, series and points alike: two batches writing some of the same rows then
    # wait for each other in one order only, and never deadlock.
    rows = []
    for key in sorted(values):
        minutes = values[key]
        rows += [(key, minute, minutes[minute]) for minute in sorted(minutes)]
    return {key: series[key] for key in sorted(series)}, rows


def copy_upsert(
    cursor, series: dict[int, tuple[str, str, str]], points: Sequence[tuple]
) -> tuple[int, list[int]]:
    """Upsert a batch with a psycopg cursor inside the caller's transaction: `series` maps each
    id the points use to its (service, metric, canonical labels); `points` are
    `(series id, minute, value)`, at most one per series and minute. Returns (points written,
    the ids that collided with a different stored series); on a collision the caller must
    roll back."""
    cursor.execute(SERIES_STAGING)
    _copy(cursor, COPY_SERIES, SERIES_TYPES, ((key, *names) for key, names in series.items()))
    cursor.execute(MERGE_SERIES)
    collided = [row[0] for row in cursor.fetchall()]
    if collided:
        return 0, collided
    cursor.execute("SAVEPOINT metric_points")
    try:
        _copy(cursor, COPY_NEW_POINTS, POINT_TYPES, points)
    except UniqueViolation:  # a minute already stored: the upsert replaces it
        cursor.execute("ROLLBACK TO SAVEPOINT metric_points")
    else:
        cursor.execute("RELEASE SAVEPOINT metric_points")
        return len(points), []
    cursor.execute(POINTS_STAGING)
    _copy(cursor, COPY_POINTS, POINT_TYPES, points)
    cursor.execute(MERGE_POINTS)
    return cursor.rowcount, []


def _copy(cursor, statement: str, types: list[str], rows: Iterable[tuple]) -> None:
    with cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
