"""Two things a sustained event rate showed (docs/perf/outbox.md):

- The delivery sweep reads the inbox by event id (`confirm_deliveries`), but the unique
  index led with the subscriber, so each sweep scanned the whole inbox: days of events at
  production rates. The index now leads with the event id; it still enforces one row per
  (subscriber, event) and serves the insert's ON CONFLICT. Built CONCURRENTLY, then swapped
  in as the constraint, so deliveries go on meanwhile.
- Autovacuum of the outbox and the inbox (rows updated three times each, vacuumed every
  few seconds under load) took a core at full speed, and its ANALYZE computed statistics on
  every event's JSON payload, which no query filters on: deliveries stalled by 0.1–1.5 s
  each time. Both tables are now vacuumed at PostgreSQL 11's gentler pace (cost delay 20 ms)
  and keep no statistics for the payload.
"""

from django.db import migrations, models

CONSTRAINT_SWAP = """
ALTER TABLE inbox
    DROP CONSTRAINT inbox_subscriber_event_uniq,
    ADD CONSTRAINT inbox_event_subscriber_uniq UNIQUE USING INDEX inbox_event_subscriber_uniq
"""
CONSTRAINT_BACK = """
ALTER TABLE inbox
    DROP CONSTRAINT inbox_event_subscriber_uniq,
    ADD CONSTRAINT inbox_subscriber_event_uniq UNIQUE (subscriber, event_id)
"""


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("cases", "0011_outbox_unpublished_subject_idx")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS inbox_event_subscriber_uniq "
                    "ON inbox (event_id, subscriber)",
                    reverse_sql="SELECT 1",
                ),
                migrations.RunSQL(CONSTRAINT_SWAP, reverse_sql=CONSTRAINT_BACK),
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="inbox", name="inbox_subscriber_event_uniq"),
                migrations.AddConstraint(
                    model_name="inbox",
                    constraint=models.UniqueConstraint(
                        fields=("event_id", "subscriber"), name="inbox_event_subscriber_uniq"
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            "ALTER TABLE outbox SET (autovacuum_vacuum_cost_delay = 20);"
            "ALTER TABLE inbox SET (autovacuum_vacuum_cost_delay = 20);"
            "ALTER TABLE outbox ALTER COLUMN data SET STATISTICS 0",
            reverse_sql="ALTER TABLE outbox RESET (autovacuum_vacuum_cost_delay);"
            "ALTER TABLE inbox RESET (autovacuum_vacuum_cost_delay);"
            "ALTER TABLE outbox ALTER COLUMN data SET STATISTICS -1",
        ),
    ]
