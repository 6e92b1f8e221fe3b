"""POST /ingest/metrics: batch upsert into metric_1m, per-point errors, auth."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.sensor.models import Metric1m, MetricSeries
from apps.sensor.points import Point
from apps.sensor.services import metrics_expire, metrics_upsert
from apps.sensor.staging import MERGE_SERIES, SERIES_STAGING, canonical_labels, series_id
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

MINUTE = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)


def point(value=100.0, minute=MINUTE, **overrides):
    fields = {
        "service": "checkout",
        "metric": "http_p95_ms",
        "labels": {"pod": "checkout-1"},
        "ts": minute.isoformat(),
        "value": value,
    }
    fields.update(overrides)
    return fields


def ingest(client, points, **headers):
    return client.post("/ingest/metrics", points, format="json", headers=headers)


def test_points_are_stored_one_row_per_series_minute(ingest_api):
    points = [point(minute=MINUTE - timedelta(minutes=i), value=i) for i in range(3)]
    response = ingest(ingest_api, points)
    assert response.status_code == 200
    assert response.json() == {"received": 3, "stored": 3}
    assert Metric1m.objects.count() == 3


def test_seconds_within_a_minute_land_in_the_same_bucket(ingest_api):
    ingest(ingest_api, [point(value=1, ts=(MINUTE + timedelta(seconds=42)).isoformat())])
    row = Metric1m.objects.select_related("series").get()
    assert row.minute == MINUTE
    assert row.series.labels == {"pod": "checkout-1"}


def test_a_repeated_minute_replaces_the_value(ingest_api):
    ingest(ingest_api, [point(value=100)])
    ingest(ingest_api, [point(value=250, labels={"pod": "checkout-1"})])
    assert list(Metric1m.objects.values_list("value", flat=True)) == [250]


def test_a_batch_mixing_new_and_stored_minutes_stores_each_once_with_its_new_value(ingest_api):
    earlier, later = MINUTE - timedelta(minutes=1), MINUTE + timedelta(minutes=1)
    ingest(ingest_api, [point(value=1)])
    # The new minute before the stored one is COPYed, then taken back with the failed COPY,
    # and written again by the upsert: once.
    response = ingest(
        ingest_api, [point(value=5, minute=earlier), point(value=2), point(value=7, minute=later)]
    )
    assert response.json() == {"received": 3, "stored": 3}
    stored = Metric1m.objects.order_by("minute").values_list("minute", "value")
    assert list(stored) == [(earlier, 5), (MINUTE, 2), (later, 7)]


def _points_staged() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.metric_points_staging') IS NOT NULL")
        return cursor.fetchone()[0]


def test_new_minutes_go_straight_into_the_table_and_a_repeat_through_the_upsert(ingest_api):
    # The test's transaction rolls back whatever temporary table an earlier test made.
    ingest(ingest_api, [point(value=1)])
    assert not _points_staged()
    ingest(ingest_api, [point(value=2)])
    assert _points_staged()
    assert list(Metric1m.objects.values_list("value", flat=True)) == [2]


def test_repeats_inside_one_batch_keep_the_last_value(ingest_api):
    response = ingest(ingest_api, [point(value=1), point(value=2), point(value=3)])
    assert response.json() == {"received": 3, "stored": 1}
    assert Metric1m.objects.get().value == 3


def test_label_order_does_not_make_a_new_series(ingest_api):
    ingest(ingest_api, [point(value=1, labels={"pod": "a", "zone": "z1"})])
    ingest(ingest_api, [point(value=2, labels={"zone": "z1", "pod": "a"})])
    assert Metric1m.objects.get().value == 2


def test_thousands_of_points_in_one_request(ingest_api):
    points = [
        point(value=i, labels={"pod": f"p{i % 50}"}, minute=MINUTE - timedelta(minutes=i // 50))
        for i in range(5000)
    ]
    response = ingest(ingest_api, points)
    assert response.status_code == 200
    assert Metric1m.objects.count() == 5000


def test_invalid_points_return_400_naming_index_and_field_and_store_nothing(ingest_api):
    response = ingest(ingest_api, [point(), point(value="slow"), point(ts="soon", metric="")])
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid-points")
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "value"),
        (2, "metric"),
        (2, "ts"),
    ]
    assert Metric1m.objects.count() == 0


def test_a_body_that_is_not_an_array_returns_400(ingest_api):
    response = ingest(ingest_api, {"service": "checkout"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == -1


def test_malformed_json_returns_400(ingest_api):
    response = ingest_api.generic("POST", "/ingest/metrics", "[{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


def test_anonymous_gets_401(anonymous_api):
    assert ingest(anonymous_api, [point()]).status_code == 401


def test_viewer_gets_403(viewer_api):
    assert ingest(viewer_api, [point()]).status_code == 403
    assert Metric1m.objects.count() == 0


def test_operators_and_approvers_may_not_write_the_evidence_they_are_judged_by(api):
    approver = client_for(make_user("alice", "approver", "operator"))
    assert ingest(api, [point()]).status_code == 403
    assert ingest(approver, [point()]).status_code == 403
    assert Metric1m.objects.count() == 0


def test_an_ingest_token_may_ingest_and_read_nothing(ingest_api):
    assert ingest(ingest_api, [point()]).status_code == 200
    assert ingest_api.get("/case/").status_code == 403


def test_create_ingest_token_prints_a_new_token_that_may_ingest():
    first = _create_ingest_token("prometheus-bridge")
    bridge = User.objects.get(username="prometheus-bridge")
    assert not bridge.has_usable_password()
    assert ingest(_bearer(first), [point()]).status_code == 200
    second = _create_ingest_token("prometheus-bridge")  # existing user: one more token
    assert second != first
    assert ingest(_bearer(first), [point()]).status_code == 200
    third = _create_ingest_token("prometheus-bridge", "--rotate")  # the others are revoked
    assert ingest(_bearer(first), [point()]).status_code == 401
    assert ingest(_bearer(second), [point()]).status_code == 401
    assert ingest(_bearer(third), [point()]).status_code == 200


def _create_ingest_token(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command("create_ingest_token", name, *args, stdout=out)
    return out.getvalue().strip()


def _bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_idempotency_key_replays_without_a_second_write(ingest_api):
    first = ingest(ingest_api, [point(value=1)], **{"Idempotency-Key": "batch-1"})
    again = ingest(ingest_api, [point(value=1)], **{"Idempotency-Key": "batch-1"})
    assert again.status_code == first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"


def test_label_sets_are_series_of_their_own_under_a_stable_id(ingest_api):
    ingest(ingest_api, [point(labels={"pod": "a"}), point(labels={"pod": "b"}), point(labels={})])
    stored = dict(MetricSeries.objects.values_list("id", "labels"))
    assert sorted(stored.values(), key=len) == [{}, {"pod": "a"}, {"pod": "b"}]
    for key, labels in stored.items():
        assert key == series_id("checkout", "http_p95_ms", canonical_labels(labels))


def test_a_series_colliding_with_a_stored_one_is_refused_with_409_and_nothing_stored(
    ingest_api,
):
    # The attack: a stored series that sits under the id of the series about to be written.
    taken = series_id("checkout", "http_p95_ms", canonical_labels({"pod": "checkout-1"}))
    MetricSeries.objects.create(id=taken, service="payments", metric="other", labels={})
    response = ingest(ingest_api, [point(labels={"pod": "fresh"}), point()])
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/series-collision")
    assert response.json()["series"] == [
        {"service": "checkout", "metric": "http_p95_ms", "labels": {"pod": "checkout-1"}}
    ]
    assert Metric1m.objects.count() == 0
    assert list(MetricSeries.objects.values_list("service", flat=True)) == ["payments"]


def test_the_collision_check_looks_each_series_up_by_key_while_the_table_has_no_statistics():
    # 20,000 stored series nobody has analyzed (a new install, or a TRUNCATE): the check once
    # got a hash join over every stored series, for every batch.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metric_series (id, service, metric, labels) "
            "SELECT g, 'checkout', 'm', '{}' FROM generate_series(1, 20000) g"
        )
        cursor.execute(SERIES_STAGING)
        cursor.execute("EXPLAIN " + MERGE_SERIES)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using metric_series_pkey" in plan
    assert not re.search(r"Seq Scan on metric_series(?!_staging)", plan), plan


def _store(now, ages, metric="m"):
    metrics_upsert(points=[Point(now - timedelta(days=age), "s", metric, {}, age) for age in ages])


def test_retention_deletes_only_minutes_older_than_the_setting(settings):
    settings.METRIC_RETENTION_DAYS = 7
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    _store(now, (1, 6, 8, 30))
    assert metrics_expire(now=now) == 2
    assert sorted(Metric1m.objects.values_list("value", flat=True)) == [1, 6]


def test_retention_deletes_a_series_left_with_no_minute_and_a_new_write_brings_it_back(
    settings,
):
    settings.METRIC_RETENTION_DAYS = 7
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    _store(now, (8, 30), metric="gone")
    _store(now, (1, 30), metric="kept")
    MetricSeries.objects.update(created_at=now - timedelta(days=30))
    assert metrics_expire(now=now) == 3  # days 8 and 30 of "gone", day 30 of "kept"
    assert list(MetricSeries.objects.values_list("metric", flat=True)) == ["kept"]
    _store(now, (2,), metric="gone")
    series = MetricSeries.objects.get(metric="gone")
    assert series.id == series_id("s", "gone", canonical_labels({}))
    assert list(series.minutes.values_list("value", flat=True)) == [2]


def test_retention_is_scheduled(settings):
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "apps.sensor.tasks.expire_metrics" in tasks


def test_superuser_may_ingest():
    admin = make_user("root", superuser=True)
    assert ingest(client_for(admin), [point()]).status_code == 200


@pytest.fixture
def admin_client():
    root = make_user("root", superuser=True)
    root.is_staff = True
    root.save()
    client = Client()
    client.force_login(root)
    return client


def test_the_admin_lists_series_and_shows_their_latest_minutes(admin_client):
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    metrics_upsert(points=[Point(now, "s", "m", {"pod": "a"}, 41.5)])
    series = MetricSeries.objects.get()

    listing = admin_client.get("/admin/sensor/metricseries/", {"q": "s"})
    page = admin_client.get(f"/admin/sensor/metricseries/{series.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert b"2026-11-27 12:00: 41.5" in page.content


def test_deleting_a_series_in_the_admin_deletes_its_minutes(admin_client):
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    metrics_upsert(points=[Point(now, "s", "m", {}, 1.0), Point(now, "s", "other", {}, 2.0)])
    gone = MetricSeries.objects.get(metric="m")

    admin_client.post(f"/admin/sensor/metricseries/{gone.pk}/delete/", {"post": "yes"})

    assert list(Metric1m.objects.values_list("series__metric", flat=True)) == ["other"]
