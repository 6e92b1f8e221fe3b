"""One rule for who moves a case, driven in-process: each state asks its module, each
module's outcome moves the case on (tests/factories.deliver_outbox plays the relay)."""

import pytest

from apps.cases import events
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from apps.executor.models import ExecRun
from apps.gate.models import GateDecision
from apps.planner.models import PlanProposed
from apps.verifier import services as verifier_services
from tests.conftest import sample_plan
from tests.factories import (
    deliver_outbox,
    new_case,
    propose,
    run_queued_steps,
    set_autopilot,
)

pytestmark = pytest.mark.django_db


def state(case) -> str:
    return OpsCase.objects.get(pk=case.pk).state


def commands(case) -> list[str]:
    rows = Outbox.objects.filter(subject=str(case.pk), type__startswith="cmd.")
    return list(rows.order_by("seq").values_list("type", flat=True))


def test_a_case_with_a_template_starts_by_itself(operator):
    case = new_case(operator, template="restart")
    assert case.state == "ANALYZING"
    start = CaseTimeline.objects.get(case=case, event="start_analysis")
    assert start.actor == "system:orchestrator"
    assert commands(case) == ["cmd.analysis.run.v1"]


def test_a_case_without_a_template_waits_for_a_person(operator):
    case = new_case(operator)
    assert case.state == "NEW"
    assert commands(case) == []


def test_where_autopilot_is_manual_nothing_starts_or_is_asked(operator):
    set_autopilot("staging", "manual")
    case = new_case(operator, template="restart")
    assert case.state == "NEW"
    assert commands(case) == []


def test_each_state_asks_its_module_and_the_outcome_moves_the_case_on(operator):
    from apps.cases.services import case_transition

    case = new_case(operator)
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    deliver_outbox()
    assert state(case) == "PLANNING"
    assert CaseTimeline.objects.get(case=case, event="plan_waiting")  # nothing to plan from
    propose(case, operator, sample_plan())
    deliver_outbox(skip={"cmd.verify.schedule.v1"})
    run_queued_steps()
    deliver_outbox(skip={"cmd.verify.schedule.v1"})
    assert state(case) == "VERIFYING"
    assert commands(case) == [
        "cmd.analysis.run.v1",
        "cmd.plan.propose.v1",
        "cmd.gate.evaluate.v1",
        "cmd.exec.start.v1",
        "cmd.verify.schedule.v1",
    ]
    moves = CaseTimeline.objects.filter(case=case).exclude(event="create")
    by_event = dict(moves.values_list("event", "actor"))
    assert by_event["analysis_done"] == "system:orchestrator"
    assert by_event["plan_ready"] == "system:orchestrator"
    assert by_event["gate_approved"] == "system:gate"
    assert by_event["exec_done"] == "system:orchestrator"
    assert GateDecision.objects.get(case=case).actor == "system:gate"
    assert ExecRun.objects.get(case=case).actor == "system:executor"


def test_a_template_that_cannot_plan_for_the_case_parks_it_saying_why(operator):
    case = new_case(operator, template="canary")  # canary needs params.image
    deliver_outbox()
    assert state(case) == "PARKED"
    parked = CaseTimeline.objects.get(case=case, event="park")
    assert parked.reason.startswith("the Planner could not propose a plan")
    assert "image" in parked.reason
    assert not PlanProposed.objects.filter(case=case).exists()


def test_an_unknown_template_parks_the_case(operator):
    case = new_case(operator, template="reboot-the-world")
    deliver_outbox()
    assert state(case) == "PARKED"
    assert "Unknown template" in CaseTimeline.objects.get(case=case, event="park").reason


def test_a_command_that_arrives_after_the_case_moved_on_changes_nothing(operator):
    from apps.cases.services import case_transition

    case = new_case(operator)
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    deliver_outbox()
    propose(case, operator, sample_plan())
    deliver_outbox(skip={"cmd.gate.evaluate.v1"})  # the gate's request is still "in flight"
    assert state(case) == "WAIT_GATE"
    asked = Outbox.objects.get(subject=str(case.pk), type="cmd.gate.evaluate.v1")
    case_transition(case_id=case.pk, event="park", actor="olga", reason="hold on")
    # The late delivery of the gate's request: no decision, no approval, still parked.
    from apps.cases import relay

    assert relay.apply_event("gate.evaluate", str(asked.event_id)) == "applied"
    assert not GateDecision.objects.filter(case=case).exists()
    assert state(case) == "PARKED"


def test_a_redelivered_command_is_applied_once(operator):
    from apps.cases import relay

    case = new_case(operator, template="restart")
    asked = Outbox.objects.get(subject=str(case.pk), type="cmd.analysis.run.v1")
    assert relay.apply_event("analyst.analyze", str(asked.event_id)) == "applied"
    assert relay.apply_event("analyst.analyze", str(asked.event_id)) == "duplicate"
    findings = Outbox.objects.filter(subject=str(case.pk), type="evt.analysis.findings.v1")
    assert findings.count() == 1


def run_through(operator):
    """A person starts a case and proposes a plan; the loop does the rest, here."""
    from apps.cases.services import case_transition

    case = new_case(operator)
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    deliver_outbox()
    propose(case, operator, sample_plan())
    deliver_outbox()
    run_queued_steps()
    deliver_outbox()
    return case


def test_the_verifier_judges_the_plan_of_the_run(operator):
    case = run_through(operator)
    result = verifier_services.verify_case(case_id=str(case.pk))
    run = ExecRun.objects.get(case=case)
    assert result["run_id"] == str(run.pk)
    assert result["checkpoints"][0]["name"] == "p95-latency"


def test_every_event_the_loop_emitted_keeps_its_contract(operator):
    run_through(operator)
    for row in Outbox.objects.all():
        events.typed(row.envelope())  # raises ContractViolation on any mismatch
