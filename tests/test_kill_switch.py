"""The kill switch: while engaged nothing executes on its own, running runs stop at their
next step boundary, and each case says why. Attacks assert the effect is absent."""

import pytest

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor import runner
from apps.executor.models import ExecRun, ExecStep
from apps.gate import selectors as gate_selectors
from apps.gate import services as gate_services
from apps.gate.models import KillSwitchFlip, PlanApproved
from tests.conftest import client_for, drive_to_executing, make_user, plan_step, sample_plan
from tests.factories import (
    deliver_outbox,
    drive_to_gate_decision,
    run_queued_steps,
    set_autopilot,
)

pytestmark = pytest.mark.django_db

TWO_STEPS = sample_plan(steps=[plan_step("first"), plan_step("second")])


@pytest.fixture
def approver_api(db):
    return client_for(make_user("alice", "approver"))


def engage(client, reason="bad deploy wave"):
    return client.post("/gate/kill-switch", {"engaged": True, "reason": reason}, format="json")


def lift(client):
    return client.post("/gate/kill-switch", {"engaged": False}, format="json")


def state(case) -> str:
    return OpsCase.objects.get(pk=case.pk).state


def start_run(api, case) -> ExecRun:
    assert api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json").status_code == 202
    return ExecRun.objects.get(case=case)


def run_one_step() -> None:
    step = ExecStep.objects.filter(status=ExecStep.QUEUED).order_by("id").first()
    runner.execute(str(step.message_id), worker="test")


def test_an_approver_engages_it_with_a_reason(approver_api):
    response = engage(approver_api)
    assert response.status_code == 200
    assert response.json()["engaged"] is True
    assert response.json()["changed_by"] == "alice"
    assert gate_selectors.kill_switch().engaged


def test_an_operator_cannot_flip_it(api):
    assert engage(api).status_code == 403
    assert not gate_selectors.kill_switch().engaged
    assert not KillSwitchFlip.objects.exists()


def test_a_viewer_can_see_it_but_not_flip_it(viewer_api):
    assert viewer_api.get("/gate/kill-switch").json()["engaged"] is False
    assert engage(viewer_api).status_code == 403
    assert not gate_selectors.kill_switch().engaged


def test_anonymous_cannot_flip_it(anonymous_api):
    assert engage(anonymous_api).status_code == 401
    assert not gate_selectors.kill_switch().engaged


def test_engaging_needs_a_reason(approver_api):
    response = engage(approver_api, reason=" ")
    assert response.status_code == 400
    assert not gate_selectors.kill_switch().engaged


def test_a_superuser_may_flip_it(db):
    from django.contrib.auth.models import User

    root = client_for(User.objects.create_superuser("root", password="x"))
    assert engage(root).status_code == 200


def test_engaging_is_on_the_timeline_of_each_affected_case(approver_api, new_case):
    executing = drive_to_executing(new_case())
    untouched = new_case()
    engage(approver_api)
    note = CaseTimeline.objects.get(case=executing, event="kill_switch_engaged")
    assert note.actor == "alice"
    assert note.reason == "bad deploy wave"
    assert not CaseTimeline.objects.filter(case=untouched, event__startswith="kill_switch").exists()
    assert KillSwitchFlip.objects.get().affected_cases == 1


def test_metrics_show_the_switch(approver_api, client):
    engage(approver_api)
    body = client.get("/metrics").content.decode()
    assert "kill_switch_engaged 1.0" in body


def test_the_gate_approves_nothing_by_itself_while_engaged(api, approver_api, new_case, operator):
    set_autopilot("staging", "manual")
    engage(approver_api)
    case = drive_to_gate_decision(new_case(), operator, sample_plan())
    assert case.state == "WAIT_GATE"
    decision = case.gate_decisions.get()
    assert decision.decision == "needs_human"
    assert "kill switch" in "; ".join(decision.reasons)
    assert not PlanApproved.objects.filter(case=case).exists()


def test_no_one_may_approve_while_engaged(approver_api, new_case, operator):
    set_autopilot("prod", "supervised", auto_approve_max=20, reject_min=95, four_eyes=True)
    case = drive_to_gate_decision(new_case(environment="prod"), operator, sample_plan())
    engage(approver_api)
    response = approver_api.post("/gate/approve", {"case_id": str(case.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/kill-switch-engaged")
    assert not PlanApproved.objects.filter(case=case).exists()


def test_a_running_run_stops_at_its_next_step_and_the_case_says_why(api, approver_api, new_case):
    case = drive_to_executing(new_case(), document=TWO_STEPS)
    run = start_run(api, case)
    run_one_step()  # "first" runs
    engage(approver_api)
    run_queued_steps()  # "second" is refused at its boundary
    deliver_outbox()
    second = ExecStep.objects.get(run=run, step_id="second")
    assert second.status == ExecStep.CANCELLED
    assert second.started_at is None  # it never started
    assert not ExecStep.objects.filter(run=run, phase="rollback").exists()  # pause: no rollback
    assert state(case) == "PARKED"
    parked = CaseTimeline.objects.get(case=case, event="exec_failed")
    assert "kill switch is engaged by alice: bad deploy wave" in parked.reason


def test_with_on_kill_switch_rollback_a_run_that_changed_something_rolls_back(
    api, approver_api, new_case
):
    policy = gate_selectors.policy_in_force()
    environments = {**policy.document["environments"]}
    environments["staging"] = {**environments["staging"], "on_kill_switch": "rollback"}
    gate_services.policy_save(
        document={**policy.document, "environments": environments}, cedar="", actor="t"
    )
    case = drive_to_executing(new_case(), document=TWO_STEPS)
    run = start_run(api, case)
    run_one_step()
    engage(approver_api)
    run_queued_steps()
    deliver_outbox()
    undo = ExecStep.objects.get(run=run, phase="rollback")
    assert undo.status == ExecStep.SUCCEEDED  # restoring is not a new change
    assert ExecStep.objects.get(run=run, step_id="second").started_at is None
    assert ExecRun.objects.get(pk=run.pk).status == ExecRun.ROLLED_BACK
    assert state(case) == "PARKED"


def test_lifting_it_resumes_nothing(api, approver_api, new_case):
    case = drive_to_executing(new_case(), document=TWO_STEPS)
    start_run(api, case)
    engage(approver_api)
    run_queued_steps()
    deliver_outbox()
    assert state(case) == "PARKED"
    assert lift(approver_api).json()["engaged"] is False
    deliver_outbox()
    assert state(case) == "PARKED"
    assert not ExecStep.objects.filter(status=ExecStep.QUEUED).exists()
    assert not ExecStep.objects.filter(started_at__isnull=False).exists()
