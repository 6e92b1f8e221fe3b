"""POST /ingest/log-patterns and /ingest/logs: counts into log_pattern_5m, Drain3 mining with
its state in drain_state, per-item errors, idempotent redelivery, roles, concurrent miners."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.sensor import mining, services
from apps.sensor.models import DrainState, LogPattern5m
from apps.sensor.patterns import LogBatch, LogLine, floor_bucket
from tests.conftest import client_for, make_user

BUCKET = floor_bucket(timezone.now() - timedelta(minutes=10))


@pytest.fixture(autouse=True)
def fresh_miners():
    """Each test starts as a new process would: no miner in memory."""
    mining.forget_miners()
    yield
    mining.forget_miners()


def pattern(count=1, **overrides):
    fields = {"service": "checkout", "pattern_id": "conn-refused", "ts": BUCKET.isoformat()}
    fields.update(count=count, **overrides)
    return fields


def lines(*texts, service="checkout", at=BUCKET):
    return {"service": service, "lines": [{"ts": at.isoformat(), "line": t} for t in texts]}


def post(client, url, body, **headers):
    return client.post(url, body, format="json", headers=headers)


def stored():
    return {(r.service, r.pattern_id): r.count for r in LogPattern5m.objects.all()}


# --- POST /ingest/log-patterns ---


@pytest.mark.django_db
def test_pattern_counts_are_stored_per_service_pattern_and_bucket(ingest_api):
    body = [
        pattern(3, template="connection refused to <IP>"),
        pattern(2, pattern_id="timeout"),
        pattern(5, ts=(BUCKET + timedelta(minutes=4, seconds=59)).isoformat()),
    ]
    response = post(ingest_api, "/ingest/log-patterns", body)
    assert response.status_code == 200
    assert response.json() == {"received": 3, "stored": 2}
    row = LogPattern5m.objects.get(pattern_id="conn-refused")
    assert (row.bucket, row.count, row.template) == (BUCKET, 8, "connection refused to <IP>")


@pytest.mark.django_db
def test_counts_add_up_across_requests_and_keep_the_last_template(ingest_api):
    post(ingest_api, "/ingest/log-patterns", [pattern(2, template="old")])
    post(ingest_api, "/ingest/log-patterns", [pattern(3, template="new")])
    post(ingest_api, "/ingest/log-patterns", [pattern(1)])  # no template: keep the stored one
    row = LogPattern5m.objects.get()
    assert (row.count, row.template) == (6, "new")


@pytest.mark.django_db
def test_a_redelivered_request_with_its_idempotency_key_is_not_counted_twice(ingest_api):
    key = {"Idempotency-Key": "patterns-1"}
    first = post(ingest_api, "/ingest/log-patterns", [pattern(4)], **key)
    again = post(ingest_api, "/ingest/log-patterns", [pattern(4)], **key)
    assert again.status_code == first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert LogPattern5m.objects.get().count == 4
    post(ingest_api, "/ingest/log-patterns", [pattern(4)], **{"Idempotency-Key": "patterns-2"})
    assert LogPattern5m.objects.get().count == 8


@pytest.mark.django_db
def test_invalid_pattern_counts_return_400_listing_each_and_store_nothing(ingest_api):
    body = [
        pattern(1),
        pattern(-2),
        pattern("many", ts="yesterday"),
        pattern(1, pattern_id="x" * 201, colour="red"),
    ]
    response = post(ingest_api, "/ingest/log-patterns", body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-log-patterns")
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "count"),
        (2, "ts"),
        (2, "count"),
        (3, "colour"),
        (3, "pattern_id"),
    ]
    assert LogPattern5m.objects.count() == 0


@pytest.mark.django_db
def test_more_pattern_counts_than_allowed_return_400(ingest_api, settings):
    settings.INGEST_MAX_PATTERNS = 2
    response = post(ingest_api, "/ingest/log-patterns", [pattern()] * 3)
    assert response.status_code == 400
    assert "At most 2 pattern counts" in response.json()["errors"][0]["message"]
    assert LogPattern5m.objects.count() == 0


@pytest.mark.django_db
def test_a_huge_stored_count_saturates_instead_of_failing(ingest_api):
    for _ in range(10):
        post(ingest_api, "/ingest/log-patterns", [pattern(10**12)] * 10_000)
    assert post(ingest_api, "/ingest/log-patterns", [pattern(10**12)]).status_code == 200
    assert LogPattern5m.objects.get().count == 10**12 * 100_001


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/ingest/log-patterns", "/ingest/logs"])
def test_only_the_ingest_role_may_write_log_signals(url, viewer_api, api, anonymous_api):
    body = [pattern()] if url.endswith("patterns") else lines("boom")
    approver = client_for(make_user("alice", "approver"))
    assert post(anonymous_api, url, body).status_code == 401
    for client in (viewer_api, api, approver):
        assert post(client, url, body).status_code == 403
    assert LogPattern5m.objects.count() == 0
    assert DrainState.objects.count() == 0


# --- POST /ingest/logs ---


@pytest.mark.django_db
def test_lines_are_mined_into_templates_and_counted_per_bucket(ingest_api):
    response = post(
        ingest_api,
        "/ingest/logs",
        lines(
            "user 42 logged in from 10.0.0.1",
            "user 43 logged in from 10.0.0.2",
            "payment 7f3a2c1e-0d4b-4c5e-9f6a-1b2c3d4e5f60 failed after 120ms",
        ),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["received"] == 3
    found = {p["template"]: p for p in body["patterns"]}
    assert found["user <NUM> logged in from <IP>"]["count"] == 2
    assert found["payment <UUID> failed after <NUM>"]["count"] == 1
    rows = {r.template: r for r in LogPattern5m.objects.all()}
    login = rows["user <NUM> logged in from <IP>"]
    assert (login.service, login.bucket, login.count) == ("checkout", BUCKET, 2)
    assert login.pattern_id == found["user <NUM> logged in from <IP>"]["pattern_id"]
    assert login.pattern_id.startswith("drain-")


@pytest.mark.django_db
def test_a_list_of_batches_mines_each_service_on_its_own(ingest_api):
    body = [lines("cache miss for key 1", service="cart"), lines("disk full", service="db")]
    response = post(ingest_api, "/ingest/logs", body)
    assert response.status_code == 200
    assert {(p["service"], p["pattern_id"]) for p in response.json()["patterns"]} == {
        ("cart", "drain-1"),
        ("db", "drain-1"),
    }
    assert set(DrainState.objects.values_list("service", flat=True)) == {"cart", "db"}


@pytest.mark.django_db
def test_template_ids_survive_a_restart(ingest_api):
    first = post(ingest_api, "/ingest/logs", lines("disk full on /dev/sda1", "cache miss"))
    ids = {p["template"]: p["pattern_id"] for p in first.json()["patterns"]}
    assert len(set(ids.values())) == 2
    mining.forget_miners()  # a new process: only drain_state remains
    # The second template alone: a miner starting empty would call it drain-1.
    again = post(ingest_api, "/ingest/logs", lines("cache miss"))
    assert again.json()["patterns"][0]["pattern_id"] == ids["cache miss"]
    assert LogPattern5m.objects.get(pattern_id=ids["cache miss"]).count == 2


@pytest.mark.django_db
def test_a_miner_held_in_memory_is_not_used_once_another_process_saved_newer_state(ingest_api):
    post(ingest_api, "/ingest/logs", lines("disk full"))
    held = dict(mining._cache)
    # Another process mines a new template (simulated: this process forgets, mines, and
    # then gets its old miner back).
    mining.forget_miners()
    post(ingest_api, "/ingest/logs", lines("queue depth high"))
    mining._cache.update(held)
    third = post(ingest_api, "/ingest/logs", lines("checksum mismatch"))
    assert third.json()["patterns"][0]["pattern_id"] == "drain-3"


@pytest.mark.django_db
def test_a_redelivered_log_request_is_not_mined_twice(ingest_api):
    key = {"Idempotency-Key": "logs-1"}
    first = post(ingest_api, "/ingest/logs", lines("disk full", "disk full"), **key)
    again = post(ingest_api, "/ingest/logs", lines("disk full", "disk full"), **key)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert LogPattern5m.objects.get().count == 2
    assert DrainState.objects.get().version == 1


@pytest.mark.django_db
def test_invalid_lines_return_400_naming_each_and_store_nothing(ingest_api, settings):
    settings.INGEST_MAX_LINE_LENGTH = 20
    body = [
        lines("fine"),
        {
            "service": "checkout",
            "lines": [
                {"ts": "later", "line": "x"},
                {"ts": BUCKET.isoformat(), "line": "y" * 21},
                {"ts": BUCKET.isoformat()},
            ],
        },
        {"service": "", "lines": "text"},
    ]
    response = post(ingest_api, "/ingest/logs", body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"].endswith("/invalid-logs")
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "lines.0.ts"),
        (1, "lines.1.line"),
        (1, "lines.2.line"),
        (2, "service"),
        (2, "lines"),
    ]
    assert LogPattern5m.objects.count() == 0
    assert DrainState.objects.count() == 0


@pytest.mark.django_db
def test_more_lines_than_allowed_return_400(ingest_api, settings):
    settings.INGEST_MAX_LOG_LINES = 3
    response = post(ingest_api, "/ingest/logs", [lines("a", "b"), lines("c", "d")])
    assert response.status_code == 400
    assert "At most 3 lines" in response.json()["errors"][0]["message"]
    assert LogPattern5m.objects.count() == 0


@pytest.mark.django_db
def test_lines_older_than_the_retention_are_refused(ingest_api):
    old = timezone.now() - timedelta(days=15)
    response = post(ingest_api, "/ingest/logs", lines("boom", at=old))
    assert response.status_code == 400
    assert "Older than the retention" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_retention_deletes_old_buckets_and_is_scheduled(settings):
    settings.LOG_PATTERN_RETENTION_DAYS = 7
    now = timezone.now()
    for age in (1, 8):
        LogPattern5m.objects.create(
            bucket=floor_bucket(now - timedelta(days=age)),
            service="s",
            pattern_id=str(age),
            count=1,
        )
    assert services.log_patterns_expire(now=now) == 1
    assert list(LogPattern5m.objects.values_list("pattern_id", flat=True)) == ["1"]
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "apps.sensor.tasks.expire_log_patterns" in tasks


# --- Two miners of one service at once ---


@pytest.mark.django_db(transaction=True)
def test_concurrent_miners_of_one_service_lose_no_template_and_no_count():
    """Threads on their own connections mine disjoint templates of one service at once; the
    row lock makes each build on the other's saved state, so no cluster id is given to two
    templates and every line is counted."""
    # Drain's tree branches by token count, then by first token: each (racer, round) line is
    # its own template.
    racers, rounds = 4, 5
    first = ["alpha", "bravo", "charlie", "delta"]
    texts = [
        [f"{first[n]} stage failed" + " again" * r for r in range(rounds)] for n in range(racers)
    ]
    barrier = threading.Barrier(racers)
    failures = []

    def racer(number: int):
        try:
            barrier.wait()
            for round_ in range(rounds):
                text = texts[number][round_]
                batch = LogBatch("checkout", (LogLine(BUCKET, text), LogLine(BUCKET, text)))
                services.logs_mine(batches=[batch])
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    rows = list(LogPattern5m.objects.all())
    assert sum(r.count for r in rows) == racers * rounds * 2
    assert len({r.pattern_id for r in rows}) == len(rows) == racers * rounds
    state = DrainState.objects.get(service="checkout")
    assert state.version == racers * rounds
    mining.forget_miners()
    with transaction.atomic():
        again = mining.mine("checkout", [text for row in texts for text in row])
    assert {m.pattern_id for m in again} == {r.pattern_id for r in rows}
