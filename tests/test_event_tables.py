"""The outbox and inbox at a sustained event rate: what their indexes and upkeep must be
(docs/perf/outbox.md), and that the models and migrations agree."""

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_delivery_sweep_reads_an_events_inbox_rows_by_index_not_the_whole_inbox():
    from apps.cases.models import Inbox

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inbox (subscriber, event_id, outcome, error, processed_at) "
            "SELECT s, gen_random_uuid(), 'applied', '', now() "
            "FROM generate_series(1, 20000), unnest(ARRAY['probe.a', 'probe.b']) s"
        )
        cursor.execute("ANALYZE inbox")
    # The query confirm_deliveries makes, for a sweep's worth of events.
    query = Inbox.objects.filter(event_id__in=[uuid.uuid4() for _ in range(50)]).values_list(
        "event_id", "subscriber"
    )
    sql, params = query.query.sql_with_params()
    explained = plan(sql, list(params))
    assert "Seq Scan" not in explained
    assert "inbox_event_subscriber_uniq" in explained


def test_an_inbox_row_is_still_unique_per_subscriber_and_event():
    from apps.cases.relay import _inbox_insert

    event_id = str(uuid.uuid4())
    assert _inbox_insert("probe.a", event_id) is True
    assert _inbox_insert("probe.b", event_id) is True
    assert _inbox_insert("probe.a", event_id) is False


def test_the_event_tables_are_vacuumed_gently_and_keep_no_statistics_on_payloads():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('outbox', 'inbox')"
        )
        options = dict(cursor.fetchall())
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'outbox'::regclass AND attname = 'data'"
        )
        (data_target,) = cursor.fetchone()
    assert "autovacuum_vacuum_cost_delay=20" in options["outbox"]
    assert "autovacuum_vacuum_cost_delay=20" in options["inbox"]
    assert data_target == 0


def test_the_event_tables_are_analyzed_from_a_small_sample():
    # ANALYZE samples 300 rows per unit of the largest target: 3,000, not 30,000.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attstattarget FROM pg_attribute "
            "WHERE attrelid IN ('outbox'::regclass, 'inbox'::regclass) "
            "AND attnum > 0 AND NOT attisdropped"
        )
        targets = {(table, column): target for table, column, target in cursor.fetchall()}
    assert targets.pop(("outbox", "data")) == 0
    assert set(targets.values()) == {10}, targets


def test_the_models_have_no_change_that_a_migration_does_not_make():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
