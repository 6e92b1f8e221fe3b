"""A relay run applies a batch that is not full itself (settings.OUTBOX_RELAY_APPLIES): no
delivery task, one Celery hop fewer per event; a full batch (a backlog) still fans out as
tasks; a failing delivery is retried alone; per-case order holds when another relay races."""

import threading

import pytest
from django.db import connection, transaction

from apps.cases.models import Outbox
from apps.cases.relay import relay_once
from apps.cases.tasks import relay_outbox
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import purge_broker, queued, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DELIVER_MANY = "apps.cases.tasks.deliver_events"
DELIVER_ONE = "apps.cases.tasks.deliver_event"


@pytest.fixture(autouse=True)
def empty_broker():
    purge_broker()
    yield
    purge_broker()


def emit(subject: str, count: int = 1, **data) -> list[str]:
    with transaction.atomic():
        return [str(Probe(case_id=subject, n=n, **data).emit().event_id) for n in range(count)]


def applied() -> list[tuple[str, str]]:
    rows = ProbeApplication.objects.order_by("id").values_list("subscriber", "event_id")
    return [(subscriber, str(event_id)) for subscriber, event_id in rows]


def tasks() -> list[str]:
    return [name for name, _ in queued()]


def test_a_relay_run_applies_a_batch_that_is_not_full_and_queues_no_delivery_task():
    events = emit("case-a", 2)
    purge_broker()  # the commit's kick

    relay_outbox.apply()

    assert applied() == [(sub, e) for e in events for sub in ("probe.a", "probe.b")]
    assert tasks() == []
    assert not Outbox.objects.filter(published_at__isnull=True).exists()


def test_a_full_batch_fans_out_as_delivery_tasks(settings):
    settings.OUTBOX_BATCH_SIZE = 2
    emit("case-a", 3)
    purge_broker()

    assert relay_once(apply_here=True) == 2

    assert applied() == []
    assert DELIVER_MANY in tasks()


def test_with_it_off_a_relay_run_queues_every_delivery(settings):
    settings.OUTBOX_RELAY_APPLIES = False
    emit("case-a", 1)
    purge_broker()

    relay_outbox.apply()

    assert applied() == []
    assert tasks() == [DELIVER_MANY]


def test_a_delivery_failing_in_the_relay_is_retried_alone_and_the_rest_are_applied():
    (bad,) = emit("case-a", fail="probe.a")
    (good,) = emit("case-b")
    purge_broker()

    relay_outbox.apply()

    assert sorted(applied()) == sorted([("probe.b", bad), ("probe.a", good), ("probe.b", good)])
    assert queued() == [(DELIVER_ONE, ["probe.a", bad])]
    assert not Outbox.objects.filter(published_at__isnull=True).exists()


def test_a_later_event_of_a_case_another_relay_holds_is_left_to_that_relay_s_run():
    (earlier,) = emit("case-a", sleep=0.5)  # each of its two deliveries takes 0.5 s
    purge_broker()
    run = threading.Thread(target=lambda: (relay_outbox.apply(), connection.close()))
    run.start()
    wait_for(
        lambda: Outbox.objects.filter(event_id=earlier, claimed_until__isnull=False).exists(),
        timeout=10,
        what="the relay run to claim the earlier event",
    )
    (later,) = emit("case-a")

    taken = relay_once()  # a second relay, racing the first, while it applies

    run.join(timeout=30)
    assert taken == 0
    assert applied() == [
        ("probe.a", earlier),
        ("probe.b", earlier),
        ("probe.a", later),
        ("probe.b", later),
    ]
    assert not Outbox.objects.filter(published_at__isnull=True).exists()


def test_a_relay_that_gives_a_later_event_back_queues_a_relay_run_for_it():
    emit("case-a")  # not relayed yet
    (later,) = emit("case-a")
    purge_broker()

    assert relay_once(only=[Outbox.objects.get(event_id=later).seq]) == 0

    assert tasks() == ["apps.cases.tasks.relay_outbox"]
    assert Outbox.objects.get(event_id=later).claimed_by == ""


def test_events_a_relay_run_s_own_deliveries_commit_are_taken_by_it_without_a_run_of_their_own(
    new_case,
):
    case = new_case(template="restart")  # the loop analyses and plans by itself from here
    purge_broker()

    relay_outbox.apply()

    events = list(Outbox.objects.filter(subject=str(case.pk)).values_list("type", flat=True))
    assert "evt.plan.proposed.v1" in events  # four hand-offs, each committed by a delivery
    assert not Outbox.objects.filter(published_at__isnull=True).exists()
    assert "apps.cases.tasks.relay_outbox" not in tasks()
