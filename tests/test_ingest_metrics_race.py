"""POST /ingest/metrics against a concurrent writer of the same minute: the batch's COPY waits
for the other transaction, fails on the primary key once it commits, and the upsert replaces
the value; nothing is stored twice and nothing is lost."""

import random
import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.sensor.models import Metric1m
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
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
    client.raise_request_exception = False  # a server error is an answer here: a 500

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


def test_concurrent_batches_of_the_same_minutes_in_any_order_never_deadlock():
    # Four feeders send the same 200 series-minutes, each in its own shuffled order: written
    # in the order they came, two batches could each hold a row the other waits for.
    failures = []

    def feeder(seed: int):
        rng = random.Random(seed)
        try:
            for batch in range(30):
                minute = MINUTE - timedelta(minutes=batch)
                points = [Point(minute, "race", "m", {"pod": str(p)}, seed) for p in range(200)]
                rng.shuffle(points)
                metrics_upsert(points=points)
        except Exception as exc:  # any failure is the finding
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=feeder, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert Metric1m.objects.count() == 200 * 30


def test_a_batch_whose_connection_is_cut_answers_503_and_writes_nothing(ingest_api):
    answers = []
    with _other() as other:
        # Hold the batch at its first write, then cut its connection as a restart would.
        other.execute("LOCK TABLE metric_series IN ACCESS EXCLUSIVE MODE")
        thread = _ingest_in_thread(ingest_api, 2, answers)
        wait_for(_waiting_on_a_lock, what="the batch to wait for the lock")
        with _other() as killer:
            killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE '%%metric%%'"
            )
            killer.commit()
        other.rollback()
    thread.join(30)
    assert answers[0].status_code == 503, answers[0].content
    assert answers[0].json()["type"].endswith("/database-unavailable")
    assert not Metric1m.objects.exists()
