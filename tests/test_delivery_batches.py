"""A relay batch's deliveries leave in a few Celery tasks, not one per (subscriber, event):
a case's deliveries together and in order, its consecutive ones in one transaction (with
no savepoints unless one fails: then again, each under its own); a failing one is retried
alone and cannot hold back or undo the others."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.cases.models import CaseTimeline, Inbox, OpsCase
from apps.cases.relay import relay_once
from apps.cases.tasks import deliver_events
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import purge_broker, queued

pytestmark = pytest.mark.django_db(transaction=True)

DELIVER_MANY = "apps.cases.tasks.deliver_events"
DELIVER_ONE = "apps.cases.tasks.deliver_event"
RELAY = "apps.cases.tasks.relay_outbox"


@pytest.fixture(autouse=True)
def empty_broker():
    purge_broker()
    yield
    purge_broker()


def emit(subject: str, count: int, **data) -> list[str]:
    with transaction.atomic():
        return [str(Probe(case_id=subject, n=n, **data).emit().event_id) for n in range(count)]


def batches() -> list[list[list[str]]]:
    return [args[0] for name, args in queued() if name == DELIVER_MANY]


def test_a_relay_batch_goes_out_in_tasks_of_at_most_the_batch_size(settings):
    settings.OUTBOX_DELIVERY_BATCH = 4
    first = emit("case-a", 5)
    second = emit("case-b", 1)

    assert relay_once() == 6

    sent = batches()
    assert all(len(batch) <= 4 for batch in sent)
    assert [len(batch) for batch in sent] == [4, 4, 4]  # case-a 4, 4, 2, and case-b 2
    pairs = [tuple(pair) for batch in sent for pair in batch]
    wanted = [(sub, event_id) for event_id in first + second for sub in ("probe.a", "probe.b")]
    assert pairs == wanted  # each once, and a case's in outbox order


def test_a_case_s_deliveries_share_one_task_when_they_fit(settings):
    settings.OUTBOX_DELIVERY_BATCH = 4
    a = emit("case-a", 2)
    b = emit("case-b", 2)

    relay_once()

    subjects = [{event_id in a for _, event_id in batch} for batch in batches()]
    assert subjects == [{True}, {False}]  # not a's first event with b's in between
    assert {event_id for batch in batches() for _, event_id in batch} == set(a + b)


def test_a_failing_delivery_does_not_stop_the_rest_of_its_batch_and_is_retried_alone():
    (bad,) = emit("case-a", 1, fail="probe.a")
    (good,) = emit("case-b", 1)
    pairs = [["probe.a", bad], ["probe.b", bad], ["probe.a", good], ["probe.b", good]]

    deliver_events.apply(args=(pairs,))

    applied = set(ProbeApplication.objects.values_list("subscriber", "event_id"))
    assert {(sub, str(event_id)) for sub, event_id in applied} == {
        ("probe.b", bad),
        ("probe.a", good),
        ("probe.b", good),
    }
    assert not Inbox.objects.filter(subscriber="probe.a", event_id=bad).exists()  # rolled back
    assert [task for task in queued() if task[0] != RELAY] == [(DELIVER_ONE, ["probe.a", bad])]


def test_a_case_s_deliveries_that_all_succeed_take_no_savepoint():
    a = emit("case-a", 2)
    pairs = [[sub, event_id] for event_id in a for sub in ("probe.a", "probe.b")]

    with CaptureQueriesContext(connection) as queries:
        deliver_events.apply(args=(pairs,))

    assert ProbeApplication.objects.count() == 4
    assert not [q["sql"] for q in queries if "SAVEPOINT" in q["sql"].upper()]


def test_a_group_rolled_back_for_one_failure_keeps_each_other_delivery_once():
    first, second = emit("case-a", 2, fail="probe.b")
    pairs = [[sub, event_id] for event_id in (first, second) for sub in ("probe.a", "probe.b")]

    deliver_events.apply(args=(pairs,))

    applied = sorted(ProbeApplication.objects.values_list("subscriber", "event_id"))
    assert [(sub, str(event_id)) for sub, event_id in applied] == sorted(
        [("probe.a", first), ("probe.a", second)]
    )
    assert Inbox.objects.count() == 2


def test_a_batch_delivered_twice_applies_each_delivery_once():
    (event_id,) = emit("case-a", 1)
    pairs = [["probe.a", event_id], ["probe.b", event_id]]

    deliver_events.apply(args=(pairs,))
    deliver_events.apply(args=(pairs,))  # the broker redelivered it: a worker died before ack

    assert ProbeApplication.objects.count() == 2
    assert Inbox.objects.count() == 2


def test_with_no_retries_a_failing_delivery_parks_its_case_at_once(settings, new_case):
    settings.HANDLER_MAX_RETRIES = 0
    case = new_case()
    (event_id,) = emit(str(case.pk), 1, fail="probe.a")

    deliver_events.apply(args=([["probe.a", event_id], ["probe.b", event_id]],))

    assert OpsCase.objects.get(pk=case.pk).state == "PARKED"
    assert CaseTimeline.objects.get(case=case, event="park").actor == "system:probe.a"
    assert DELIVER_ONE not in [name for name, _ in queued()]  # nothing left to retry
    assert Inbox.objects.get(subscriber="probe.a").outcome == Inbox.FAILED


def test_a_case_s_consecutive_deliveries_commit_together_and_another_case_s_apart(monkeypatch):
    a = emit("case-a", 2)
    b = emit("case-b", 1)
    pairs = [[sub, event_id] for event_id in a + b for sub in ("probe.a", "probe.b")]
    commits = []
    real_commit = connection._commit  # Django's, counted: how many transactions committed
    monkeypatch.setattr(connection, "_commit", lambda: commits.append(1) or real_commit())

    deliver_events.apply(args=(pairs,))

    assert len(commits) == 2  # case-a's four deliveries, then case-b's two
    assert ProbeApplication.objects.count() == 6
