"""Crash recovery, exactly-once claims, cancel on park and graceful drain, with real workers."""

import threading
import time
from pathlib import Path

import pytest

from apps.cases.services import case_park
from apps.executor import runner, services
from apps.executor.models import ExecStep
from tests import support
from tests.conftest import (
    drive_to_executing,
    plan_step,
    sample_plan,
    wait_run_finished,
    wait_transition,
)

pytestmark = pytest.mark.django_db(transaction=True)
FAST_LEASE = {"AIOPS_EXEC_LEASE_SECONDS": "2", "AIOPS_EXEC_SWEEP_SECONDS": "1"}


@pytest.fixture
def processes(transactional_db):
    """Workers / beat started by the test; all stopped at the end."""
    support.purge_broker()
    started = []

    def start(process):
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()


def beat(**env):
    argv = [str(support.BIN / "celery"), "-A", "aiops", "beat", "--loglevel=INFO"]
    return support.Process(argv, support.child_env(**env), ready_marker="beat: Starting")


def begin(new_case, steps, rollback=None, actor="olga"):
    plan = sample_plan(steps=steps, rollback=rollback or [plan_step("undo")])
    case = drive_to_executing(new_case(), document=plan)
    return case, services.exec_start(case_id=case.pk, actor=actor)


def running_step(run, **filters):
    return support.wait_for(
        lambda: ExecStep.objects.filter(run=run, status="running", **filters).first(),
        what="a running step",
    )


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_a_worker_killed_mid_step_is_recovered_and_the_run_completes(new_case, processes):
    first = processes(support.celery_worker(**FAST_LEASE))
    slow_once = plan_step(
        "slow", params={"sleep_s": 60, "sleep_attempts": 1}, retries=1, idempotent=True
    )
    case, run = begin(new_case, [slow_once, plan_step("after")], rollback=[plan_step("undo")])
    running_step(run, step_id="slow")
    first.kill()
    processes(support.celery_worker(**FAST_LEASE))
    processes(beat(**FAST_LEASE))
    wait_transition(case, "exec_done")
    run.refresh_from_db()
    assert run.status == "succeeded"
    slow = run.steps.filter(step_id="slow").order_by("attempt")
    assert [(s.attempt, s.status) for s in slow] == [(1, "lost"), (2, "succeeded")]
    assert "lease expired" in slow[0].error


def test_a_worker_killed_mid_step_without_retries_left_fails_the_run_and_parks_the_case(
    new_case, processes
):
    first = processes(support.celery_worker(**FAST_LEASE))
    case, run = begin(new_case, [plan_step("slow", params={"sleep_s": 60})])
    running_step(run)
    first.kill()
    processes(support.celery_worker(**FAST_LEASE))
    processes(beat(**FAST_LEASE))
    parked = wait_transition(case, "exec_failed")
    assert "lost" in parked.reason
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    assert run.steps.get(phase="rollback").status == "succeeded"
    assert not ExecStep.objects.filter(run=run, status__in=["queued", "running"]).exists()


def test_the_same_step_message_delivered_concurrently_runs_once(new_case, tmp_path):
    ran = tmp_path / "ran"
    step = plan_step(
        "once", "script", "run", params={"name": "append-line", "args": [str(ran), "x"]}
    )
    support.purge_broker()
    _case, run = begin(new_case, [step])
    message_id = str(run.steps.get().message_id)
    support.purge_broker()  # no worker: this test is the only consumer
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(runner.execute(message_id)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate", "duplicate", "duplicate", "succeeded"]
    assert ran.read_text() == "x\n"
    assert runner.execute(message_id) == "duplicate"


def test_redelivered_step_messages_on_a_real_worker_execute_once(new_case, worker, tmp_path):
    from apps.executor.tasks import run_step

    ran = tmp_path / "ran"
    step = plan_step(
        "once", "script", "run", params={"name": "append-line", "args": [str(ran), "x"]}
    )
    case, run = begin(new_case, [step, plan_step("next", params={"sleep_s": 1})])
    message_id = str(run.steps.get(step_id="once").message_id)
    for _ in range(3):
        run_step.apply_async(args=[message_id], task_id=message_id)
    wait_transition(case, "exec_done")
    support.wait_for(
        lambda: "".join(worker.output).count(f"run_step[{message_id}] succeeded") >= 4,
        what="all four deliveries to be processed",
    )
    assert ran.read_text() == "x\n"
    assert run.steps.filter(step_id="once").count() == 1


def test_parking_the_case_kills_the_running_script_and_cancels_the_run(new_case, worker, tmp_path):
    pids = tmp_path / "pids"
    hang = plan_step(
        "hang", "script", "run", params={"name": "spawn-and-sleep", "args": [str(pids), "300"]}
    )
    hang["timeout_s"] = 300
    case, run = begin(new_case, [hang, plan_step("never")])
    running_step(run)
    support.wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    case_park(case_id=case.pk, actor="olga", reason="operator takes over")
    run = wait_run_finished(case)
    assert run.status == "cancelled"
    assert run.steps.get(step_id="hang").status == "cancelled"
    assert not run.steps.filter(step_id="never").exists()
    assert not run.steps.filter(phase="rollback").exists()
    support.wait_for(
        lambda: not any(_alive(int(p)) for p in pids.read_text().split()),
        what="the script's processes to be gone",
    )


def test_parking_between_steps_cancels_the_queued_step(new_case, transactional_db):
    support.purge_broker()
    case, run = begin(new_case, [plan_step("a"), plan_step("b")])
    case_park(case_id=case.pk, actor="olga", reason="stop")
    from apps.cases import relay
    from apps.cases.models import Outbox

    event = Outbox.objects.get(type="evt.case.transition.v1", data__to_state="PARKED")
    assert relay.apply_event("executor.cancel_on_park", str(event.event_id)) == "applied"
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run.steps.get().status == "cancelled"
    assert runner.execute(str(run.steps.get().message_id)) == "duplicate"


def test_sigterm_lets_a_short_step_finish_before_the_worker_exits(new_case, processes):
    first = processes(support.celery_worker(AIOPS_EXEC_DRAIN_SECONDS="30"))
    _case, run = begin(new_case, [plan_step("short", params={"sleep_s": 2})])
    step = running_step(run)
    first.stop(timeout=40)
    step.refresh_from_db()
    assert step.status == "succeeded", first.tail(60)
    assert step.worker


def test_sigterm_hands_a_long_step_back_and_another_worker_runs_it(new_case, processes):
    first = processes(support.celery_worker(AIOPS_EXEC_DRAIN_SECONDS="1"))
    case, run = begin(new_case, [plan_step("long", params={"sleep_s": 4})])
    running_step(run)
    started = time.monotonic()
    first.stop(timeout=40)
    assert time.monotonic() - started < 30
    step = run.steps.get()
    assert step.status == "queued"
    assert "handed back" in "".join(first.output)
    processes(support.celery_worker())
    wait_transition(case, "exec_done")
    assert [(s.attempt, s.status) for s in run.steps.all()] == [(1, "succeeded")]


def test_a_queued_step_whose_message_was_lost_is_republished_by_the_sweeper(new_case, processes):
    from datetime import timedelta

    from django.utils import timezone

    case, run = begin(new_case, [plan_step("only")])
    support.purge_broker()  # the message is gone (say, a broker restart without persistence)
    run.steps.update(queued_at=timezone.now() - timedelta(minutes=5))
    assert services.sweep_steps() == {"lost": 0, "republished": 1}
    processes(support.celery_worker())
    wait_transition(case, "exec_done")
    assert run.steps.get().status == "succeeded"


def test_a_step_waiting_in_a_long_queue_is_republished_at_doubling_intervals(new_case):
    """A backlog is not flooded: after each republish the next waits twice as long."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    _, run = begin(new_case, [plan_step("only")])
    support.purge_broker()
    base = max(settings.EXEC_LEASE_SECONDS, 5)
    ages = []
    for republished in range(4):
        wait = base * 2**republished
        run.steps.update(queued_at=timezone.now() - timedelta(seconds=wait - 1))
        ages.append(services.sweep_steps()["republished"])
        run.steps.update(queued_at=timezone.now() - timedelta(seconds=wait + 1))
        ages.append(services.sweep_steps()["republished"])
    support.purge_broker()
    assert ages == [0, 1] * 4
    assert run.steps.get().republished == 4
