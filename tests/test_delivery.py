"""Outbox → relay → subscribers, through a real Celery worker on real Redis and PostgreSQL."""

import pytest
from django.db import transaction

from apps.cases.models import CaseTimeline, Inbox, OpsCase, Outbox
from apps.cases.relay import relay_once
from apps.cases.services import case_transition
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import broker_idle, purge_broker, swept, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def emit_probes(count: int, subject: str = "probe-subject", **data) -> list[str]:
    with transaction.atomic():
        rows = [Probe(case_id=subject, n=i, **data).emit() for i in range(count)]
    return [str(row.event_id) for row in rows]


def applications() -> int:
    return ProbeApplication.objects.count()


def test_every_event_reaches_every_subscriber_once(worker):
    emit_probes(20)
    wait_for(lambda: applications() == 40, what="40 probe applications")
    wait_for(lambda: not Outbox.objects.filter(published_at__isnull=True).exists())
    per_pair = ProbeApplication.objects.values("subscriber", "event_id").distinct().count()
    assert per_pair == 40


def test_a_republished_event_is_not_applied_twice(worker):
    emit_probes(5)
    wait_for(lambda: applications() == 10, what="first delivery")
    # As if the relay died after handing events over but before marking them published.
    Outbox.objects.update(published_at=None, claimed_until=None, claimed_by="")
    assert relay_once() == Outbox.objects.count()
    wait_for(lambda: not Outbox.objects.filter(published_at__isnull=True).exists())
    wait_for(
        lambda: Inbox.objects.count() == 10 and broker_idle(),
        what="redelivered tasks to be consumed",
    )
    assert applications() == 10


def test_a_handler_that_keeps_failing_parks_the_case(start_worker, new_case):
    start_worker(AIOPS_HANDLER_MAX_RETRIES="2", AIOPS_HANDLER_RETRY_BACKOFF="0.05")
    case = new_case()
    emit_probes(1, subject=str(case.pk), fail="probe.a")
    wait_for(lambda: OpsCase.objects.get(pk=case.pk).state == "PARKED", what="case parked")
    park = CaseTimeline.objects.get(case=case, event="park")
    assert park.actor == "system:probe.a"
    assert "probe probe.a told to fail" in park.reason
    failed = Inbox.objects.get(subscriber="probe.a")
    assert failed.outcome == Inbox.FAILED
    assert ProbeApplication.objects.filter(subscriber="probe.b").count() == 1


def test_a_case_with_an_earlier_event_under_another_relay_waits():
    from datetime import timedelta

    from django.utils import timezone

    first, *_ = emit_probes(3, subject="case-a")
    emit_probes(2, subject="case-b")
    Outbox.objects.filter(event_id=first).update(
        claimed_by="another-relay", claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert relay_once() == 2
    unpublished = Outbox.objects.filter(published_at__isnull=True)
    assert set(unpublished.values_list("subject", flat=True)) == {"case-a"}
    assert unpublished.count() == 3


def _published_long_ago() -> None:
    from datetime import timedelta

    from django.utils import timezone

    Outbox.objects.update(published_at=timezone.now() - timedelta(hours=1), delivered_at=None)


def test_an_event_every_subscriber_applied_is_marked_delivered():
    from apps.cases.relay import confirm_deliveries

    (event_id,) = emit_probes(1)
    Inbox.objects.create(subscriber="probe.a", event_id=event_id)
    Inbox.objects.create(subscriber="probe.b", event_id=event_id)
    _published_long_ago()
    assert confirm_deliveries() == {"delivered": 1, "resent": 0}
    assert Outbox.objects.get(event_id=event_id).delivered_at is not None


def test_a_delivery_the_broker_lost_is_sent_again(worker):
    emit_probes(1)
    wait_for(lambda: applications() == 2, what="first delivery")
    # As if the broker had lost probe.a's message: no inbox row, no effect.
    lost = ProbeApplication.objects.get(subscriber="probe.a")
    Inbox.objects.filter(subscriber="probe.a", event_id=lost.event_id).delete()
    lost.delete()
    _published_long_ago()
    # Beat's relay sweep (every few seconds) finds the delivery missing and sends it again.
    wait_for(swept(lambda: applications() == 2, every=1), what="the lost delivery sent again")
    assert ProbeApplication.objects.filter(subscriber="probe.a").count() == 1


def test_a_missing_delivery_is_resent_at_doubling_intervals():
    """Deliveries waiting their turn in a busy queue are not resent every sweep."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from apps.cases.relay import confirm_deliveries

    emit_probes(1)
    base = settings.OUTBOX_REDELIVER_SECONDS
    resent = []
    for resends in range(4):
        wait = base * 2**resends
        Outbox.objects.update(published_at=timezone.now() - timedelta(seconds=wait - 1))
        resent.append(confirm_deliveries()["resent"])
        Outbox.objects.update(published_at=timezone.now() - timedelta(seconds=wait + 1))
        resent.append(confirm_deliveries()["resent"])
    purge_broker()
    assert resent == [0, 1] * 4
    assert Outbox.objects.get().resends == 4


def test_a_transition_is_sent_only_to_the_subscribers_that_want_its_states():
    from apps.cases import events

    def wanting(from_state, to_state):
        data = {"from_state": from_state, "to_state": to_state}
        return {s.name for s in events.subscribers_for(events.CaseTransitioned.type, data)}

    assert wanting("NEW", "ANALYZING") == set()
    assert wanting("EXECUTING", "PARKED") == {
        "executor.cancel_on_park",
        "gate.blast_radius",
        "gate.void_on_park",
        "notify.case",
    }
    assert wanting("VERIFYING", "CLOSED") == {"gate.blast_radius", "kb.archive_case", "notify.case"}


def test_an_event_no_subscriber_wants_is_stored_delivered_and_queues_no_relay_run(operator):
    """The creation's transition (into NEW) interests no module: the relay would judge the
    same `when` on the same data and only mark it delivered, so it is stored so."""
    from tests import factories

    purge_broker()
    case = factories.new_case(operator, title="nobody listens to its creation")
    row = Outbox.objects.get(subject=str(case.pk))
    assert row.published_at is not None and row.delivered_at == row.published_at
    assert relay_once() == 0
    assert broker_idle()  # no relay run was queued for it
    assert not Inbox.objects.exists()


def test_an_event_one_subscriber_wants_waits_for_the_relay(operator):
    from tests import factories

    purge_broker()
    case = factories.new_case(operator, title="parked at once")
    case_transition(case_id=case.pk, event="park", actor="op", reason="not now")
    waiting = Outbox.objects.filter(subject=str(case.pk), published_at__isnull=True)
    assert [row.data["to_state"] for row in waiting] == ["PARKED"]
    assert not broker_idle()  # the commit queued a relay run for it
    purge_broker()


def test_a_delivery_still_behind_the_oldest_queued_message_is_not_resent(settings):
    """The queue is first in, first out: a delivery sent after the oldest message still
    waiting is waiting too. Once the queue has moved past it and no inbox shows it, it is
    resent."""
    from apps.cases.relay import confirm_deliveries
    from apps.cases.tasks import relay_outbox

    purge_broker()
    relay_outbox.apply_async()  # no worker here: it waits at the head of the queue
    emit_probes(1)
    assert relay_once() == 1
    settings.OUTBOX_REDELIVER_SECONDS = 0
    assert confirm_deliveries()["resent"] == 0
    purge_broker()  # the queue drained and the deliveries never arrived: lost
    assert confirm_deliveries()["resent"] == 1
    purge_broker()


def test_every_message_says_when_it_was_sent():
    from django.conf import settings
    from django.utils import timezone

    from aiops.backoff import oldest_waiting
    from apps.cases.tasks import relay_outbox

    purge_broker()
    assert oldest_waiting(settings.CONTROL_QUEUE) is None
    before = timezone.now()
    relay_outbox.apply_async()
    relay_outbox.apply_async()
    sent = oldest_waiting(settings.CONTROL_QUEUE)
    purge_broker()
    assert before <= sent <= timezone.now()


def test_an_event_the_relay_run_applied_itself_is_published_delivered():
    (event_id,) = emit_probes(1)
    assert relay_once(apply_here=True) == 1
    row = Outbox.objects.get(event_id=event_id)
    assert row.published_at is not None and row.delivered_at == row.published_at
    assert applications() == 2


def test_an_event_a_delivery_of_which_failed_is_published_undelivered(settings):
    settings.HANDLER_MAX_RETRIES = 3
    purge_broker()
    (event_id,) = emit_probes(1, fail="probe.a")
    assert relay_once(apply_here=True) == 1
    row = Outbox.objects.get(event_id=event_id)
    assert row.published_at is not None and row.delivered_at is None
    assert ProbeApplication.objects.filter(subscriber="probe.b").count() == 1
    purge_broker()  # the failed delivery's retry


def test_a_delivery_already_in_the_inbox_is_not_applied_again_beside_a_new_one():
    from apps.cases.relay import apply_events

    (event_id,) = emit_probes(1)
    Inbox.objects.create(subscriber="probe.a", event_id=event_id)
    assert apply_events([("probe.a", event_id), ("probe.b", event_id)]) == []
    assert list(ProbeApplication.objects.values_list("subscriber", flat=True)) == ["probe.b"]
    assert Inbox.objects.filter(event_id=event_id).count() == 2


def test_a_relay_run_asks_for_the_confirmation_window_at_most_once_a_second():
    from apps.cases import tasks

    tasks._confirm_asked[0] = float("-inf")
    assert tasks._confirm_due() is True
    assert tasks._confirm_due() is False
    tasks._confirm_asked[0] -= tasks.CONFIRM_EVERY
    assert tasks._confirm_due() is True


def _kick_flag_up() -> bool:
    from apps.cases import relay

    return bool(relay._redis().exists(relay.KICK_KEY))


def test_a_writer_committing_while_a_relay_run_works_queues_no_run_and_the_run_takes_it():
    from django.conf import settings

    from apps.cases import relay
    from apps.cases.tasks import relay_outbox

    emit_probes(1, spawn=True)
    purge_broker()  # the run that commit queued: it runs here, in this process
    relay._redis().set(relay.KICK_KEY, "1", px=settings.OUTBOX_KICK_TTL_MS)
    assert relay_outbox() == 2  # the event probe.a's writer committed meanwhile, too
    assert not Outbox.objects.filter(published_at__isnull=True).exists()
    assert applications() == 4
    assert broker_idle()  # that writer found the flag up and queued nothing
    assert not _kick_flag_up()


def test_after_a_relay_run_the_next_commit_queues_a_run():
    from apps.cases.tasks import relay_outbox

    purge_broker()
    relay_outbox()
    emit_probes(1)
    assert _kick_flag_up() and not broker_idle()
    purge_broker()
