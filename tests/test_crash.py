"""SIGKILL the worker that relays and applies events mid-drain, mid-backlog or while a relay
run applies its batch itself: nothing lost, nothing doubled."""

import pytest
from django.db import transaction

from apps.cases.models import Outbox
from apps.cases.tasks import relay_outbox
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import broker_idle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EVENTS = 3000
SUBSCRIBERS = 2
# Short leases so the restarted worker takes over the dead one's claims and messages quickly.
FAST_RECOVERY = {
    "AIOPS_BROKER_VISIBILITY_TIMEOUT": "5",
    "AIOPS_OUTBOX_CLAIM_SECONDS": "5",
    "AIOPS_OUTBOX_BATCH_SIZE": "100",
    # A message lost with the killed worker is sent again once this long has passed.
    "AIOPS_OUTBOX_REDELIVER_SECONDS": "10",
}


def emit_many(total: int, chunk: int = 500) -> None:
    for start in range(0, total, chunk):
        with transaction.atomic():
            for n in range(start, min(total, start + chunk)):
                Probe(case_id=f"case-{n % 40}", n=n).emit()


def applied() -> int:
    return ProbeApplication.objects.count()


@pytest.mark.timeout(900)
def test_a_killed_worker_loses_nothing_and_duplicates_nothing(start_worker):
    first = start_worker(**FAST_RECOVERY)
    emit_many(EVENTS)
    wait_for(lambda: applied() >= EVENTS // 3, timeout=180, what="a third of the deliveries")
    first.kill()
    at_kill = applied()
    assert at_kill < EVENTS * SUBSCRIBERS, "the kill must land mid-drain"

    start_worker(**FAST_RECOVERY)

    wait_for(lambda: drained(EVENTS), timeout=480, interval=2, what="every event applied")
    wait_for(broker_idle, timeout=60, what="redelivered messages to be consumed")
    pairs = ProbeApplication.objects.values("subscriber", "event_id").distinct().count()
    assert applied() == pairs == EVENTS * SUBSCRIBERS


def drained(events: int) -> bool:
    relay_outbox.delay()  # what beat's sweep does every few seconds in production
    return (
        applied() >= events * SUBSCRIBERS
        and not Outbox.objects.filter(published_at__isnull=True).exists()
    )


@pytest.mark.timeout(300)
def test_a_worker_killed_while_its_relay_run_applies_a_batch_loses_and_doubles_nothing(
    start_worker,
):
    first = start_worker(**FAST_RECOVERY)
    few = 40  # under the batch size: one relay run claims them and applies them itself
    with transaction.atomic():
        for n in range(few):
            Probe(case_id=f"case-{n % 8}", n=n, sleep=0.05).emit()  # 50 ms a delivery
    wait_for(lambda: applied() >= 10, timeout=60, what="the relay run to be applying")
    first.kill()
    at_kill = applied()
    assert at_kill < few * SUBSCRIBERS, "the kill must land mid-batch"
    assert ProbeApplication.objects.values("applied_by_pid").distinct().count() == 1

    start_worker(**FAST_RECOVERY)

    wait_for(lambda: drained(few), timeout=120, interval=2, what="every event applied")
    pairs = ProbeApplication.objects.values("subscriber", "event_id").distinct().count()
    assert applied() == pairs == few * SUBSCRIBERS
