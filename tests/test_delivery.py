"""Outbox → relay → subscribers, through a real Celery worker on real Redis and PostgreSQL."""

import pytest
from django.db import transaction

from apps.cases.models import CaseTimeline, Inbox, OpsCase, Outbox
from apps.cases.relay import relay_once
from tests.probe.handlers import Probe
from tests.probe.models import ProbeApplication
from tests.support import broker_idle, wait_for

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
    from apps.cases.tasks import relay_outbox

    relay_outbox.delay()
    wait_for(lambda: applications() == 2, what="the lost delivery to be sent again")
    assert ProbeApplication.objects.filter(subscriber="probe.a").count() == 1
