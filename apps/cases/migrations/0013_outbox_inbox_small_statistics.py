"""The outbox's and the inbox's ANALYZE read a tenth of the rows.

At a steady 200 transitions/s, requests stalled by 30–80 ms while autovacuum analyzed the
outbox (about a second of CPU, unthrottled) and the inbox: ANALYZE samples 300 rows per
unit of the largest statistics target, 30,000 by default. Their queries go by primary key,
event id and partial indexes, which need no fine histograms; a target of 10 samples 3,000
rows (docs/perf/transitions.md). The payload keeps none (0012).
"""

from django.db import migrations

COLUMNS = {
    "outbox": (
        "seq",
        "event_id",
        "type",
        "source",
        "subject",
        "time",
        "request_id",
        "traceparent",
        "published_at",
        "claimed_until",
        "claimed_by",
        "attempts",
        "last_error",
        "delivered_at",
        "resends",
    ),
    "inbox": ("id", "subscriber", "event_id", "outcome", "error", "processed_at"),
}


def _statistics(target: int) -> str:
    return ";".join(
        f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STATISTICS {target}'
        for table, columns in COLUMNS.items()
        for column in columns
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_inbox_by_event_outbox_vacuum")]

    operations = [migrations.RunSQL(_statistics(10), reverse_sql=_statistics(-1))]
