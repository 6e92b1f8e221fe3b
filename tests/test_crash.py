"""SIGKILL the worker that relays and applies events mid-drain: nothing lost, nothing doubled."""

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

    def drained() -> bool:
        relay_outbox.delay()  # what beat's sweep does every few seconds in production
        return (
            applied() >= EVENTS * SUBSCRIBERS
            and not Outbox.objects.filter(published_at__isnull=True).exists()
        )

    wait_for(drained, timeout=480, interval=2, what="every event applied by every subscriber")
    wait_for(broker_idle, timeout=60, what="redelivered messages to be consumed")
    pairs = ProbeApplication.objects.values("subscriber", "event_id").distinct().count()
    assert applied() == pairs == EVENTS * SUBSCRIBERS
