"""The metric_1m upsert as PostgreSQL takes it fastest: binary COPY of a batch into a
session-local staging table, then one statement that moves it into metric_1m, a repeated
(series, minute) replacing the stored value. No Django here, so the ingest bench's database
floor runs the very same statements through a bare psycopg connection.

Arrays bound as parameters cost more: Django's client-side binding quotes every element in
Python (docs/perf/ingest.md). The staging table empties in the merge statement itself, so an
enclosing transaction or savepoint never sees a batch twice; a rollback discards it too.
"""

from __future__ import annotations

from collections.abc import Iterable

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS metric_1m_staging
    (minute timestamptz, service text, metric text, labels text, value float8)
"""
COPY = "COPY metric_1m_staging FROM STDIN (FORMAT BINARY)"
TYPES = ["timestamptz", "text", "text", "text", "float8"]
MERGE = """
WITH batch AS (DELETE FROM metric_1m_staging RETURNING *)
INSERT INTO metric_1m (minute, service, metric, labels, value)
SELECT minute, service, metric, labels::jsonb, value FROM batch
ON CONFLICT (service, metric, labels, minute)
DO UPDATE SET value = EXCLUDED.value, received_at = now()
"""


def copy_upsert(cursor, rows: Iterable[tuple]) -> int:
    """Upsert `(minute, service, metric, labels JSON text, value)` rows, at most one per
    series and minute, with a psycopg cursor inside the caller's transaction. Returns the
    rows written."""
    cursor.execute(STAGING)
    with cursor.copy(COPY) as copy:
        copy.set_types(TYPES)
        for row in rows:
            copy.write_row(row)
    cursor.execute(MERGE)
    return cursor.rowcount
