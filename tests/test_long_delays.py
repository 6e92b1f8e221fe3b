"""Delays longer than the broker may hold a message are kept in the database and published
by the sweeps when due — never handed to Redis as an ETA past its visibility timeout."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline, OpsCase
from apps.executor import services as exec_services
from apps.executor.models import ExecStep
from apps.verifier import services as verify_services
from tests import factories, support
from tests.conftest import drive_to_executing, sample_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    """The step messages in the real test broker's "executor" queue (no worker runs here,
    so what was published stays there): their task ids."""
    import redis
    from django.conf import settings

    support.purge_broker()
    client = redis.Redis(
        unix_socket_path=settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    )

    def task_ids() -> list[str]:
        return [json.loads(raw)["headers"]["id"] for raw in client.lrange("executor", 0, -1)]

    yield task_ids
    support.purge_broker()


def test_a_long_retry_backoff_is_deferred_not_published(
    new_case, settings, broker, django_capture_on_commit_callbacks
):
    settings.BROKER_MAX_DELAY_S = 30
    case = drive_to_executing(new_case())
    run = exec_services.exec_start(case_id=case.pk, actor="olga")
    with django_capture_on_commit_callbacks(execute=True):
        step = exec_services._queue_step(run, "forward", 0, attempt=2, delay=600)
    assert step.deferred and step.not_before > timezone.now() + timedelta(seconds=590)
    assert str(step.message_id) not in broker()


def test_the_sweeper_publishes_a_deferred_step_once_due(new_case, settings, broker):
    settings.BROKER_MAX_DELAY_S = 30
    case = drive_to_executing(new_case())
    run = exec_services.exec_start(case_id=case.pk, actor="olga")
    step = exec_services._queue_step(run, "forward", 0, attempt=2, delay=600)
    exec_services.sweep_steps()
    assert str(step.message_id) not in broker()  # not due yet
    ExecStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    exec_services.sweep_steps()
    exec_services.sweep_steps()
    assert broker().count(str(step.message_id)) == 1
    assert not ExecStep.objects.get(pk=step.pk).deferred


def test_a_short_backoff_still_goes_to_the_broker_with_its_countdown(
    new_case, settings, broker, django_capture_on_commit_callbacks
):
    settings.BROKER_MAX_DELAY_S = 30
    case = drive_to_executing(new_case())
    run = exec_services.exec_start(case_id=case.pk, actor="olga")
    with django_capture_on_commit_callbacks(execute=True):
        step = exec_services._queue_step(run, "forward", 0, attempt=2, delay=5)
    assert not step.deferred
    assert str(step.message_id) in broker()


def test_a_long_verify_delay_is_due_at_its_time_not_after_the_overdue_grace(
    operator, settings, django_capture_on_commit_callbacks
):
    settings.BROKER_MAX_DELAY_S, settings.VERIFY_OVERDUE_S = 30, 300
    document = sample_plan(verify={**sample_plan()["spec"]["verify"], "delay_s": 120})
    case = factories.drive_to_verifying(factories.new_case(operator), operator, document)
    support.purge_broker()
    with django_capture_on_commit_callbacks(execute=True):
        assert verify_services.verification_schedule(case_id=str(case.pk)) == 120
    assert CaseTimeline.objects.filter(case=case, event="verify_scheduled").exists()
    assert support.broker_idle()  # nothing handed to the broker
    now = timezone.now()
    assert verify_services.verifications_overdue(now=now + timedelta(seconds=60)) == []
    due = verify_services.verifications_overdue(now=now + timedelta(seconds=125))
    assert due == [str(case.pk)]
    assert OpsCase.objects.get(pk=case.pk).state == wf.VERIFYING
