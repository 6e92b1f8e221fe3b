"""A worker that finishes a step goes straight on to the run's next one (runner.execute's
chain_s): the next attempt is claimed in the transaction that records the last, and no
message of it goes through the broker. The preflight still holds at every boundary."""

import json
import os
import signal
import threading
import time

import pytest
import redis
from django.conf import settings

from apps.executor import runner, services
from apps.executor.models import ExecRun, ExecStep
from apps.gate import services as gate_services
from tests.conftest import drive_to_executing, plan_step, sample_plan
from tests.support import purge_broker

pytestmark = pytest.mark.django_db(transaction=True)


def queued_task_ids() -> set[str]:
    """The task ids of the step messages waiting in the broker's executor queue."""
    client = redis.Redis(
        unix_socket_path=settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    )
    return {json.loads(raw)["headers"]["id"] for raw in client.lrange(settings.EXEC_QUEUE, 0, -1)}


def start(new_case, steps) -> ExecRun:
    case = new_case(environment="staging")
    drive_to_executing(case, document=sample_plan(steps=steps))
    purge_broker()
    return services.exec_start(case_id=case.pk, actor="test")


def first_message(run) -> str:
    return str(run.steps.get(index=0, phase=ExecRun.FORWARD).message_id)


def test_one_delivery_runs_the_whole_run_without_publishing_its_later_steps(new_case):
    run = start(new_case, [plan_step("a"), plan_step("b"), plan_step("c")])

    assert runner.execute(first_message(run), worker="w1", chain_s=30) == ExecStep.SUCCEEDED

    run.refresh_from_db()
    assert run.status == ExecRun.SUCCEEDED
    steps = list(run.steps.order_by("index"))
    assert [(s.step_id, s.status, s.worker) for s in steps] == [
        ("a", ExecStep.SUCCEEDED, "w1"),
        ("b", ExecStep.SUCCEEDED, "w1"),
        ("c", ExecStep.SUCCEEDED, "w1"),
    ]
    assert not queued_task_ids() & {str(s.message_id) for s in steps[1:]}


def test_without_a_chain_the_next_step_is_published_and_left_queued(new_case):
    run = start(new_case, [plan_step("a"), plan_step("b")])

    runner.execute(first_message(run), worker="w1")

    second = run.steps.get(index=1)
    assert second.status == ExecStep.QUEUED
    assert str(second.message_id) in queued_task_ids()


def test_past_its_time_the_chain_publishes_the_next_step(new_case):
    slow = plan_step("slow", params={"sleep_s": 0.3})
    run = start(new_case, [slow, plan_step("next")])

    runner.execute(first_message(run), worker="w1", chain_s=0.1)

    second = run.steps.get(index=1)
    assert second.status == ExecStep.QUEUED
    assert str(second.message_id) in queued_task_ids()


def test_the_kill_switch_engaged_during_a_step_stops_the_chain_before_the_next(new_case):
    slow = plan_step("slow", params={"sleep_s": 0.5})
    run = start(new_case, [slow, plan_step("never")])
    engage = threading.Timer(
        0.1,
        lambda: gate_services.kill_switch_set(engaged=True, actor="alice", reason="bad wave"),
    )
    engage.start()

    runner.execute(first_message(run), worker="w1", chain_s=30)
    engage.join()

    second = run.steps.get(index=1)
    assert second.status == ExecStep.QUEUED and second.started_at is None  # never claimed
    assert runner.execute(str(second.message_id), worker="w2") == "duplicate"  # refused
    second.refresh_from_db()
    assert second.status == ExecStep.CANCELLED and second.started_at is None
    assert "kill switch" in second.error


def test_sigterm_during_a_step_ends_the_chain_after_it(new_case):
    slow = plan_step("slow", params={"sleep_s": 0.5})
    run = start(new_case, [slow, plan_step("after")])
    threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()

    started = time.monotonic()
    status = runner.execute(first_message(run), worker="w1", chain_s=30)

    assert status == ExecStep.SUCCEEDED  # the running step was let finish
    assert time.monotonic() - started < settings.EXEC_DRAIN_SECONDS
    second = run.steps.get(index=1)
    assert second.status == ExecStep.QUEUED and second.started_at is None
    assert str(second.message_id) in queued_task_ids()  # for a worker that stays
