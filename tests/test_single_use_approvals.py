"""An approval is good for one run of one plan revision under the policy it was given by.
Each test is an attack on that rule; each asserts the effect is absent (no second run, no
step started), not merely that an error came back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor.models import ExecRun, ExecStep
from apps.gate import selectors as gate_selectors
from apps.gate import services as gate_services
from apps.gate.models import PlanApproved
from tests.conftest import client_for, drive_to_executing, make_user, plan_step, sample_plan
from tests.factories import deliver_outbox, run_queued_steps

pytestmark = pytest.mark.django_db


def patch(api, case_id, event, reason=""):
    response = api.patch(
        f"/case/{case_id}/transition", {"event": event, "reason": reason}, format="json"
    )
    deliver_outbox()
    return response


def exec_(api, case_id):
    response = api.post("/adapter/exec", {"case_id": str(case_id)}, format="json")
    deliver_outbox()
    return response


def state(case) -> str:
    return OpsCase.objects.get(pk=case.pk).state


@pytest.fixture
def failed_run(api, new_case):
    """A staging case whose approved plan ran, failed, rolled back and parked the case."""
    from tests.factories import set_autopilot

    set_autopilot("staging", "manual")  # nobody but the attacker moves the case on
    failing = sample_plan(steps=[plan_step("boom", params={"fail": True})])
    case = drive_to_executing(new_case(), document=failing)
    assert exec_(api, case.pk).status_code == 202
    run_queued_steps()
    deliver_outbox()
    assert state(case) == "PARKED"
    return case


def test_resume_plan_ready_and_patch_gate_approved_cannot_rerun_the_approved_plan(api, failed_run):
    assert patch(api, failed_run.pk, "resume").status_code == 200
    assert patch(api, failed_run.pk, "plan_ready").status_code == 200  # same revision
    refused = patch(api, failed_run.pk, "gate_approved")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/module-event")
    assert exec_(api, failed_run.pk).status_code == 409
    assert state(failed_run) == "WAIT_GATE"
    assert ExecRun.objects.filter(case=failed_run).count() == 1  # no second run


def test_the_consumed_approval_of_the_failed_run_stays_consumed(failed_run):
    approval = PlanApproved.objects.get(case=failed_run)
    run = ExecRun.objects.get(case=failed_run)
    assert approval.consumed_by_run == run.pk
    assert approval.consumed_at is not None


def test_after_resume_the_gate_judges_the_plan_again_under_the_policy_now(api, failed_run):
    now = timezone.now()
    policy = gate_selectors.policy_in_force()
    document = {**policy.document, "environments": {**policy.document["environments"]}}
    freeze = {
        "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "incident review",
    }
    document["environments"]["staging"] = {**document["environments"]["staging"]}
    document["environments"]["staging"]["freezes"] = [freeze]
    gate_services.policy_save(document=document, cedar="", actor="test")
    patch(api, failed_run.pk, "resume")
    patch(api, failed_run.pk, "plan_ready")
    decision = api.post("/gate/eval", {"case_id": str(failed_run.pk)}, format="json").json()
    deliver_outbox()
    assert decision["decision"] == "rejected"
    assert "change freeze" in decision["reasons"][0]
    assert state(failed_run) == "PARKED"
    assert ExecRun.objects.filter(case=failed_run).count() == 1


def test_parking_voids_an_unused_approval(api, new_case):
    case = drive_to_executing(new_case())
    patch(api, case.pk, "park", "not now")
    approval = PlanApproved.objects.get(case=case)
    assert approval.voided_at is not None
    assert "not now" in approval.void_reason
    assert ExecRun.objects.filter(case=case).count() == 0


def test_a_freeze_that_starts_after_the_approval_parks_the_case_before_any_step(api, new_case):
    case = drive_to_executing(new_case())
    now = timezone.now()
    policy = gate_selectors.policy_in_force()
    environments = {**policy.document["environments"]}
    environments["staging"] = {
        **environments["staging"],
        "freezes": [
            {
                "start": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
                "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "reason": "launch day",
            }
        ],
    }
    gate_services.policy_save(
        document={**policy.document, "environments": environments}, cedar="", actor="test"
    )
    assert exec_(api, case.pk).status_code == 202
    run_queued_steps()
    deliver_outbox()
    assert state(case) == "PARKED"
    assert not ExecStep.objects.filter(run__case=case, started_at__isnull=False).exists()
    run = ExecRun.objects.get(case=case)
    assert run.status == ExecRun.FAILED
    parked = CaseTimeline.objects.get(case=case, event="exec_failed")
    assert "the approval no longer holds" in parked.reason
    assert "launch day" in parked.reason


def test_four_eyes_compares_user_ids_not_names(new_case, operator):
    """The requester renamed after proposing is still the requester."""
    from django.contrib.auth.models import Group

    from apps.gate.exceptions import FourEyesViolation
    from tests.factories import drive_to_gate_decision, set_autopilot

    set_autopilot("prod", "supervised", auto_approve_max=20, reject_min=95, four_eyes=True)
    case = drive_to_gate_decision(new_case(environment="prod"), operator, sample_plan())
    assert case.state == "WAIT_GATE"
    operator.groups.add(Group.objects.get_or_create(name="approver")[0])
    operator.username = "olga-renamed"
    operator.save()
    with pytest.raises(FourEyesViolation):
        gate_services.gate_approve(case_id=case.pk, user=operator, actor="olga-renamed")
    assert not PlanApproved.objects.filter(case=case).exists()
    namesake = make_user("olga-namesake", "approver")
    namesake.username = "olga"  # another person who happens to be called olga now
    namesake.save()
    decision = gate_services.gate_approve(case_id=case.pk, user=namesake, actor="olga")
    assert decision.decision == "approved"


def test_an_approver_may_approve_a_plan_another_operator_requested(new_case, operator):
    from tests.factories import drive_to_gate_decision, set_autopilot

    set_autopilot("prod", "supervised", auto_approve_max=20, reject_min=95, four_eyes=True)
    case = drive_to_gate_decision(new_case(environment="prod"), operator, sample_plan())
    approver = client_for(make_user("alice", "approver"))
    response = approver.post("/gate/approve", {"case_id": str(case.pk)}, format="json")
    assert response.status_code == 200
