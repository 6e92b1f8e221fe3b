"""Blast radius: at most max_automated_runs policy-approved changes per service and
environment in flight; the rest wait at the gate, deferred, and go as runs finish."""

from datetime import UTC, datetime

import pytest

from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.services import case_park
from apps.gate import policy as gate_policy
from apps.gate.models import GateDecision
from apps.gate.services import gate_release_all_deferred
from tests import factories
from tests.conftest import sample_plan

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def staging_policy(cap: int) -> gate_policy.Policy:
    return gate_policy.Policy(
        version=1,
        environments={
            "staging": {"auto_approve_max": 40, "autopilot": "low_risk", "max_automated_runs": cap}
        },
    )


def facts(in_flight: int) -> gate_policy.PlanFacts:
    return gate_policy.PlanFacts(
        environment="staging", service="checkout", risk=10, automated_in_flight=in_flight
    )


def test_the_policy_defers_an_approval_at_the_cap():
    verdict = gate_policy.evaluate(facts(1), staging_policy(1), NOON)
    assert verdict.decision == gate_policy.DEFERRED
    assert "max_automated_runs 1" in verdict.reasons[0]


def test_the_policy_approves_below_the_cap():
    assert gate_policy.evaluate(facts(1), staging_policy(2), NOON).decision == "approved"


def test_a_cap_of_zero_never_runs_unattended():
    assert gate_policy.evaluate(facts(0), staging_policy(0), NOON).decision == "deferred"


def test_a_negative_cap_is_not_a_valid_policy():
    document = {"environments": {"staging": {"max_automated_runs": -1}}}
    assert any("max_automated_runs" in p for p in gate_policy.validate_document(document))


@pytest.fixture
def capped(operator):
    factories.set_autopilot(
        "staging",
        wf.AUTOPILOT_LOW_RISK,
        auto_approve_max=40,
        reject_min=90,
        four_eyes=False,
        max_automated_runs=1,
        targets=factories.TEMPLATE_TARGETS,
    )


def at_gate(operator, title):
    case = factories.new_case(operator, title=title)
    skip = {factories.EXEC_START}
    return factories.drive_to_gate_decision(case, operator, sample_plan(), skip=skip)


def test_a_second_automated_change_waits_at_the_gate_with_the_reason(operator, capped):
    first = at_gate(operator, "first")
    second = at_gate(operator, "second")
    assert first.state == wf.EXECUTING
    assert second.state == wf.WAIT_GATE
    decision = GateDecision.objects.filter(case=second).latest("created_at")
    assert decision.decision == "deferred"
    assert "blast radius" in decision.reasons[0]


def test_the_waiting_case_goes_when_the_running_one_ends(operator, capped):
    first = at_gate(operator, "first")
    second = at_gate(operator, "second")
    case_park(case_id=first.pk, actor="olga", reason="stopped by hand")
    factories.deliver_outbox(skip={factories.EXEC_START})
    assert OpsCase.objects.get(pk=second.pk).state == wf.EXECUTING


def test_another_service_is_not_held_back(operator, capped):
    at_gate(operator, "first")
    other = factories.drive_to_gate_decision(
        factories.new_case(operator, title="other", service="billing"),
        operator,
        sample_plan(),
        skip={factories.EXEC_START},
    )
    assert other.state == wf.EXECUTING


def test_the_periodic_release_lets_deferred_cases_go_once_there_is_room(operator, capped):
    first = at_gate(operator, "first")
    second = at_gate(operator, "second")
    assert gate_release_all_deferred() == 0  # still no room
    OpsCase.objects.filter(pk=first.pk).update(state=wf.CLOSED)  # as if its release was lost
    assert gate_release_all_deferred() == 1
    factories.deliver_outbox(skip={factories.EXEC_START})
    assert OpsCase.objects.get(pk=second.pk).state == wf.EXECUTING


def test_a_person_may_approve_what_the_blast_radius_holds_back(operator, capped):
    at_gate(operator, "first")
    second = at_gate(operator, "second")
    assert OpsCase.objects.get(pk=second.pk).state == wf.WAIT_GATE
    approved = factories.approve(second, skip={factories.EXEC_START})
    assert approved.state == wf.EXECUTING
