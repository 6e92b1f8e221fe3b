"""POST /ingest/metrics against a concurrent writer of the same minute: the batch's COPY waits
for the other transaction, fails on the primary key once it commits, and the upsert replaces
the value; nothing is stored twice and nothing is lost."""

import threading

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.sensor.models import Metric1m
from apps.sensor.staging import canonical_labels, series_id
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = timezone.now().replace(second=0, microsecond=0)
POINT = {"service": "checkout", "metric": "http_p95_ms", "ts": MINUTE.isoformat()}


def _other():
    settings = connection.settings_dict
    return psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"])


def _waiting_on_a_lock() -> bool:
    waiting = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND query LIKE '%%metric%%'"
    )
    with _other() as watcher:
        return watcher.execute(waiting).fetchone()[0] > 0


def _ingest_in_thread(client, value, answers):
    def post():
        try:
            answers.append(
                client.post("/ingest/metrics", [{**POINT, "value": value}], format="json")
            )
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def test_a_minute_another_transaction_holds_is_replaced_once_that_one_commits(ingest_api):
    key = series_id("checkout", "http_p95_ms", canonical_labels({}))
    answers = []
    with _other() as other:
        # The concurrent writer: the same series and minute, written and not yet committed.
        other.execute(
            "INSERT INTO metric_series (id, service, metric, labels) "
            "VALUES (%s, 'checkout', 'http_p95_ms', '{}')",
            [key],
        )
        other.execute(
            "INSERT INTO metric_1m (series_id, minute, value) VALUES (%s, %s, 1)", [key, MINUTE]
        )
        thread = _ingest_in_thread(ingest_api, 2, answers)
        wait_for(_waiting_on_a_lock, what="the batch to wait for the other writer")
        other.commit()
    thread.join(30)
    assert answers[0].status_code == 200, answers[0].content
    assert answers[0].json() == {"received": 1, "stored": 1}
    assert list(Metric1m.objects.values_list("value", flat=True)) == [2]


def test_a_minute_another_transaction_rolls_back_is_written_by_the_batch_alone(ingest_api):
    key = series_id("checkout", "http_p95_ms", canonical_labels({}))
    answers = []
    with _other() as other:
        other.execute(
            "INSERT INTO metric_series (id, service, metric, labels) "
            "VALUES (%s, 'checkout', 'http_p95_ms', '{}')",
            [key],
        )
        other.execute(
            "INSERT INTO metric_1m (series_id, minute, value) VALUES (%s, %s, 1)", [key, MINUTE]
        )
        thread = _ingest_in_thread(ingest_api, 2, answers)
        wait_for(_waiting_on_a_lock, what="the batch to wait for the other writer")
        other.rollback()
    thread.join(30)
    assert answers[0].status_code == 200, answers[0].content
    assert list(Metric1m.objects.values_list("series_id", "value")) == [(key, 2)]
