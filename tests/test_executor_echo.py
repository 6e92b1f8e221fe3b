"""The echo adapter end to end: API → real worker → events → Orchestrator."""

import pytest

from apps.cases.models import CaseTimeline
from apps.executor.models import ExecRun, ExecStep
from tests.conftest import (
    drive_to_executing,
    plan_step,
    sample_plan,
    wait_run_finished,
    wait_transition,
)

pytestmark = pytest.mark.django_db(transaction=True)


def start(api, new_case, steps, rollback=None):
    plan = sample_plan(
        steps=steps, rollback=rollback or [plan_step("undo", params={"message": "undo"})]
    )
    case = drive_to_executing(new_case(), document=plan)
    response = api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json")
    assert response.status_code == 202, response.json()
    return case, response.json()


def test_a_run_of_echo_steps_succeeds_and_moves_the_case_to_verifying(api, new_case, worker):
    case, body = start(
        api,
        new_case,
        [plan_step("one", params={"message": "hi"}), plan_step("two", params={"message": "yo"})],
    )
    assert body["status"] == "running"
    assert wait_transition(case, "exec_done").to_state == "VERIFYING"
    run = ExecRun.objects.get(pk=body["id"])
    assert run.status == "succeeded"
    assert [(s.step_id, s.status) for s in run.steps.order_by("id")] == [
        ("one", "succeeded"),
        ("two", "succeeded"),
    ]


def test_each_step_emits_a_step_result_event(api, new_case, worker):
    from apps.cases.models import Outbox

    case, _body = start(api, new_case, [plan_step("one"), plan_step("two")])
    wait_transition(case, "exec_done")
    results = Outbox.objects.filter(type="evt.exec.step_result.v1", subject=str(case.pk))
    assert sorted(e.data["step_id"] for e in results) == ["one", "two"]


def test_each_step_attempt_is_on_the_case_timeline(api, new_case, worker):
    case, _body = start(api, new_case, [plan_step("one"), plan_step("two")])
    wait_transition(case, "exec_done")
    notes = CaseTimeline.objects.filter(case=case, event="exec_step").order_by("id")
    assert [n.data["step_id"] for n in notes] == ["one", "two"]
    assert notes[0].reason == "forward step 'one' (echo.echo) attempt 1: succeeded"
    assert notes[0].actor == "system:executor"


def test_a_step_past_its_timeout_is_timed_out_and_the_case_parks(api, new_case, worker):
    case, body = start(api, new_case, [plan_step("slow", params={"sleep_s": 30}, timeout_s=1)])
    wait_transition(case, "exec_failed")
    step = ExecStep.objects.get(run_id=body["id"], phase="forward")
    assert step.status == "timed_out"
    assert "timed out after 1s" in step.error


def test_a_step_failing_once_succeeds_on_its_retry(api, new_case, worker):
    case, body = start(
        api, new_case, [plan_step("flaky", params={"fail_attempts": 1}, retries=2, backoff_s=0.2)]
    )
    wait_transition(case, "exec_done")
    attempts = ExecStep.objects.filter(run_id=body["id"]).order_by("attempt")
    assert [(s.attempt, s.status) for s in attempts] == [(1, "failed"), (2, "succeeded")]
    assert attempts[1].not_before is not None


def test_a_timed_out_attempt_is_retried_and_then_succeeds(api, new_case, worker):
    step = plan_step("slow-once", params={"sleep_s": 30, "sleep_attempts": 1}, timeout_s=1)
    case, body = start(api, new_case, [{**step, "retries": 1}])
    wait_transition(case, "exec_done")
    attempts = ExecStep.objects.filter(run_id=body["id"]).order_by("attempt")
    assert [s.status for s in attempts] == ["timed_out", "succeeded"]


def test_a_failed_step_runs_the_rollback_steps_then_parks_the_case_with_the_reason(
    api, new_case, worker
):
    case, _body = start(
        api,
        new_case,
        [plan_step("ok"), plan_step("boom", params={"fail": True, "error": "disk full"})],
        rollback=[plan_step("undo-1"), plan_step("undo-2")],
    )
    wait_transition(case, "exec_failed")
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    rollback = run.steps.filter(phase="rollback").order_by("index")
    assert [(s.step_id, s.status) for s in rollback] == [
        ("undo-1", "succeeded"),
        ("undo-2", "succeeded"),
    ]
    assert not run.steps.filter(phase="forward", index=2).exists()
    park = CaseTimeline.objects.get(case=case, event="exec_failed")
    assert "step 'boom' failed" in park.reason
    assert "disk full" in park.reason
    assert "rollback steps ran" in park.reason


def test_the_step_output_is_stored_and_served_by_the_api(api, new_case, worker):
    case, body = start(api, new_case, [plan_step("say", params={"message": "hello log"})])
    wait_transition(case, "exec_done")
    step = ExecStep.objects.get(run_id=body["id"])
    assert step.stdout_ref
    response = api.get(f"/adapter/steps/{step.pk}/output")
    assert response.status_code == 200
    assert response.json()["stdout"] == "hello log\n"
