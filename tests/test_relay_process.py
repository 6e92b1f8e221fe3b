"""The relay process (apps.cases.relayd, `manage.py relay`): woken by writers through Redis,
it relays and applies what they committed; killed, it loses and doubles nothing."""

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from aiops import entrypoint, launcher
from apps.cases import relay, relayd
from apps.cases.models import Outbox
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import purge_broker, queued, relay_process, wait_for

SUBSCRIBERS = 2  # probe.a and probe.b


def applied() -> int:
    return ProbeApplication.objects.count()


def wakes() -> int:
    return relay._redis().llen(relay.WAKE_KEY)


def emit(count: int, **fields) -> None:
    with transaction.atomic():
        for n in range(count):
            Probe(case_id=f"case-{n % 8}", n=n, **fields).emit()


@pytest.fixture
def relay_mode(settings):
    settings.OUTBOX_RELAY_PROCESS = True
    purge_broker()
    yield
    purge_broker()


@pytest.fixture
def start_relay(transactional_db, relay_mode):
    started = []

    def start(**env):
        process = relay_process(**env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_wakes_leave_one_item_however_many_writers_push(relay_mode):
    for _ in range(50):
        relay.wake()
    assert wakes() == 1


@pytest.mark.django_db(transaction=True)
def test_a_commit_wakes_the_relay_process_and_queues_no_relay_task(relay_mode):
    emit(1)
    assert wakes() == 1
    assert queued() == []


@pytest.mark.django_db(transaction=True)
def test_without_the_relay_process_a_commit_queues_a_relay_task_and_no_wake(settings):
    settings.OUTBOX_RELAY_PROCESS = False
    purge_broker()
    emit(1)
    assert wakes() == 0
    assert [name for name, _ in queued()] == ["apps.cases.tasks.relay_outbox"]


@pytest.mark.django_db(transaction=True)
def test_serve_relays_and_applies_what_writers_commit_then_stops_when_told(relay_mode):
    stop = threading.Event()
    server = threading.Thread(target=lambda: (relayd.serve(stop), connection.close()))
    server.start()
    try:
        emit(5)
        wait_for(lambda: applied() == 5 * SUBSCRIBERS, timeout=30, what="every delivery")
        assert not Outbox.objects.filter(delivered_at__isnull=True).exists()
    finally:
        stop.set()
        server.join(timeout=10)
    assert not server.is_alive()
    assert queued() == []  # applied in the relay process, no task for any of it


@pytest.mark.django_db(transaction=True)
def test_events_committed_soon_after_a_run_that_published_are_relayed_together(
    relay_mode, settings
):
    settings.OUTBOX_RELAY_LINGER_MS = 1000  # a margin no slow machine eats
    stop = threading.Event()
    server = threading.Thread(target=lambda: (relayd.serve(stop), connection.close()))
    server.start()
    try:
        emit(1)
        wait_for(lambda: applied() == SUBSCRIBERS, timeout=30, what="the first event")
        for _ in range(10):  # a transaction and a wake each
            emit(1)
        wait_for(lambda: applied() == 11 * SUBSCRIBERS, timeout=30, what="the next ten")
    finally:
        stop.set()
        server.join(timeout=10)
    first, *rest = Outbox.objects.order_by("seq").values_list("claimed_by", flat=True)
    assert len(set(rest)) == 1 != len({first, *rest})  # the ten in one look of one run


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_while_the_process_was_down_is_relayed_when_it_starts(start_relay):
    emit(3)  # the wake waits in Redis
    start_relay()
    wait_for(lambda: applied() == 3 * SUBSCRIBERS, timeout=60, what="every delivery")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_relay_process_killed_mid_batch_loses_nothing_and_doubles_nothing(start_relay):
    fast = {"AIOPS_OUTBOX_CLAIM_SECONDS": "3"}
    first = start_relay(**fast)
    few = 40  # one short batch, applied in the process at 50 ms a delivery
    emit(few, sleep=0.05)
    wait_for(lambda: applied() >= 10, timeout=60, what="the relay to be applying")
    first.kill()
    at_kill = applied()
    assert at_kill < few * SUBSCRIBERS, "the kill must land mid-batch"

    start_relay(**fast)

    wait_for(lambda: applied() == few * SUBSCRIBERS, timeout=120, what="every delivery")
    pairs = ProbeApplication.objects.values("subscriber", "event_id").distinct().count()
    assert pairs == few * SUBSCRIBERS
    wait_for(
        lambda: not Outbox.objects.filter(published_at__isnull=True).exists(),
        timeout=30,
        what="every event published",
    )


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_run_in_progress_finish_and_leaves_no_claim(start_relay):
    process = start_relay()
    emit(6, sleep=0.2)  # about 2.4 s of deliveries in one run
    wait_for(lambda: applied() >= 1, timeout=60, what="the run to start")
    process.stop()
    assert process.proc.returncode == 0
    assert applied() == 6 * SUBSCRIBERS
    assert not Outbox.objects.exclude(claimed_by="").filter(published_at__isnull=True).exists()


def test_make_run_starts_the_relay_process_unless_turned_off(monkeypatch):
    monkeypatch.delenv("AIOPS_OUTBOX_RELAY_PROCESS", raising=False)
    assert launcher.children()["relay"][-2:] == [str(settings.BASE_DIR / "manage.py"), "relay"]
    monkeypatch.setenv("AIOPS_OUTBOX_RELAY_PROCESS", "0")
    assert "relay" not in launcher.children()


def test_the_relay_role_runs_the_relay_command_and_is_health_checked_on_its_metrics_port():
    env = {"AIOPS_WORKER_METRICS_PORT": "9100"}
    assert entrypoint.argv_for("relay", env)[-2:] == [
        str(entrypoint.BASE_DIR / "manage.py"),
        "relay",
    ]
    assert entrypoint.healthcheck_url("relay", env) == "http://127.0.0.1:9100/metrics"


def test_the_librarian_prepares_its_model_when_the_relay_process_starts(settings):
    from apps.kb.apps import _preload_for_relay

    settings.KB_PRELOAD = False  # asked, but nothing loaded here
    called = [receiver for receiver, _ in relayd.process_starting.send(sender=None)]
    assert _preload_for_relay in called
