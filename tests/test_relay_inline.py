"""A commit relays its own events (settings.OUTBOX_RELAY_INLINE): their deliveries leave for
the broker straight after the commit, with no relay run in between; what it may not publish
yet is left to a relay run, and per-case order still holds."""

import ast
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from apps.cases.models import Outbox
from tests.probe.handlers import Probe
from tests.support import purge_broker

pytestmark = pytest.mark.django_db(transaction=True)

RELAY = "apps.cases.tasks.relay_outbox"
DELIVER = "apps.cases.tasks.deliver_event"


@pytest.fixture
def inline(settings):
    settings.OUTBOX_RELAY_INLINE = True
    purge_broker()


def queued() -> list[tuple[str, list]]:
    """(task name, args) of each message waiting in the control queue, oldest first."""
    socket_path = settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    raw = redis.Redis(unix_socket_path=socket_path).lrange(settings.CONTROL_QUEUE, 0, -1)
    messages = [json.loads(m) for m in reversed(raw)]
    return [
        (m["headers"]["task"], list(ast.literal_eval(m["headers"]["argsrepr"]))) for m in messages
    ]


def test_a_commit_queues_its_events_deliveries_without_a_relay_run(inline):
    with transaction.atomic():
        row = Probe(case_id="inline-1", n=1).emit()

    row.refresh_from_db()
    assert row.published_at is not None
    tasks = queued()
    assert RELAY not in [name for name, _ in tasks]
    assert sorted(args[0] for name, args in tasks if name == DELIVER) == ["probe.a", "probe.b"]
    assert {args[1] for _, args in tasks} == {str(row.event_id)}


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
