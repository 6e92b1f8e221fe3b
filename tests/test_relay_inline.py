"""A commit relays its own events (settings.OUTBOX_RELAY_INLINE): their deliveries leave for
the broker straight after the commit, with no relay run in between; what it may not publish
yet is left to a relay run, and per-case order still holds."""

import pytest
from django.db import transaction

from apps.cases.models import Outbox
from tests.probe.handlers import Probe
from tests.support import purge_broker, queued

pytestmark = pytest.mark.django_db(transaction=True)

RELAY = "apps.cases.tasks.relay_outbox"
DELIVER = "apps.cases.tasks.deliver_events"


@pytest.fixture
def inline(settings):
    settings.OUTBOX_RELAY_INLINE = True
    purge_broker()


def test_a_commit_queues_its_events_deliveries_without_a_relay_run(inline):
    with transaction.atomic():
        row = Probe(case_id="inline-1", n=1).emit()

    row.refresh_from_db()
    assert row.published_at is not None
    tasks = queued()
    assert RELAY not in [name for name, _ in tasks]
    assert tasks == [(DELIVER, [[["probe.a", str(row.event_id)], ["probe.b", str(row.event_id)]]])]


def test_an_earlier_unpublished_event_of_the_case_holds_the_later_one_back(inline, settings):
    settings.OUTBOX_RELAY_INLINE = False
    with transaction.atomic():
        earlier = Probe(case_id="inline-2", n=1).emit()  # its relay run has not come yet
    purge_broker()
    settings.OUTBOX_RELAY_INLINE = True

    with transaction.atomic():
        later = Probe(case_id="inline-2", n=2).emit()

    assert Outbox.objects.get(seq=later.seq).published_at is None  # not ahead of the earlier
    assert Outbox.objects.get(seq=earlier.seq).published_at is None
    assert [name for name, _ in queued()] == [RELAY]  # left to a relay run, in order


def test_with_it_off_a_commit_kicks_a_relay_run(inline, settings):
    settings.OUTBOX_RELAY_INLINE = False
    with transaction.atomic():
        row = Probe(case_id="inline-3", n=1).emit()

    assert Outbox.objects.get(seq=row.seq).published_at is None
    assert [name for name, _ in queued()] == [RELAY]
