"""The Orchestrator's subscribers: modules' outcome events fire the matching transitions.

The only place besides the Orchestrator's own API where a case changes state. Each runs
inside the delivery transaction with its inbox row. An outcome that no longer fits the
case (it was parked meanwhile, a newer plan exists) is noted on the timeline, not retried.
"""

from apps.cases import autopilot, correlate, events
from apps.cases import workflow as wf
from apps.cases.exceptions import GuardFailed, IllegalTransition
from apps.cases.services import (
    ACTOR,
    fire,
    lock_case,
    rollback_request,
    timeline_note,
    verify_decision_ask,
)


def _fire_or_note(case, event: str, reason: str, data: dict, actor: str = ACTOR) -> None:
    try:
        fire(case, event, actor=actor, reason=reason, data=data)
    except (IllegalTransition, GuardFailed) as refused:
        timeline_note(case, event=f"{event}_ignored", actor=ACTOR, reason=refused.detail, data=data)


@events.subscriber("orchestrator.findings", "evt.analysis.findings.v1")
def on_findings(event) -> None:
    """The Analyst reported: for a case, planning starts; without one, each new finding
    opens its group's case or joins it (apps.cases.correlate)."""
    if not event.case_id:
        for finding in event.findings:
            correlate.finding_correlate(finding)
        return
    case = lock_case(event.case_id)
    if case.state == wf.ANALYZING:
        count = len(event.findings)
        _fire_or_note(case, "analysis_done", f"{count} finding(s)", event.to_data())


@events.subscriber("orchestrator.plan_proposed", "evt.plan.proposed.v1")
def on_plan_proposed(event) -> None:
    """A plan was proposed: a case still analyzing moves to planning; a ready plan goes to
    the gate (its guard checks the latest revision) unless people drive this environment."""
    case = lock_case(event.case_id)
    data = event.to_data()
    if case.state == wf.ANALYZING:
        fire(case, "analysis_done", actor=ACTOR, reason="plan proposed", data=data)
    if case.state != wf.PLANNING or not event.ready:
        return
    if autopilot.mode_for(case.environment) == wf.AUTOPILOT_MANUAL:
        return
    _fire_or_note(case, "plan_ready", f"plan revision {event.revision} is ready", data)


@events.subscriber("orchestrator.gate_decision", "evt.gate.decision.v1")
def on_gate_decision(event) -> None:
    """Approval and rejection travel the same path; needs_human waits for a person."""
    case = lock_case(event.case_id)
    reason = "; ".join(event.reasons)
    # The timeline names who decided (a person, or system:gate for the policy).
    if event.decision == "approved":
        _fire_or_note(case, "gate_approved", reason, event.to_data(), actor=event.actor)
    elif event.decision == "rejected":
        _fire_or_note(case, "gate_rejected", reason, event.to_data(), actor=event.actor)


@events.subscriber("orchestrator.exec_finished", "evt.exec.done.v1", "evt.exec.failed.v1")
def on_exec_finished(event) -> None:
    case = lock_case(event.case_id)
    if event.type == "evt.exec.done.v1":
        _fire_or_note(case, "exec_done", "", event.to_data())
    else:
        _fire_or_note(case, "exec_failed", event.reason, event.to_data())


@events.subscriber("orchestrator.verify_result", "evt.verify.result.v1")
def on_verify_result(event) -> None:
    """Passed: the case closes. Failed: it parks, and by the policy's on_verify_fail the
    plan's rollback steps run at once, or a person is asked to roll back or accept. A
    verification that failed no deciding check (inconclusive) always waits for a person."""
    case = lock_case(event.case_id)
    if event.passed:
        _fire_or_note(case, "verify_pass", event.summary, event.to_data())
        return
    mode = autopilot.on_verify_fail(case.environment)
    try:
        fire(case, "verify_failed", actor=ACTOR, reason=event.summary, data=event.to_data())
    except (IllegalTransition, GuardFailed) as refused:
        timeline_note(case, event="verify_failed_ignored", actor=ACTOR, reason=refused.detail)
        return
    failed = any(c.get("result") == "fail" and not c.get("dry_run") for c in event.checkpoints)
    if mode == wf.VERIFY_FAIL_ROLLBACK and failed:
        rollback_request(case, run_id=event.run_id, actor=ACTOR, reason="on_verify_fail: rollback")
    else:
        verify_decision_ask(case, event=event, mode=mode, failed=failed)


@events.subscriber("orchestrator.plan_failed", "evt.plan.failed.v1")
def on_plan_failed(event) -> None:
    case = lock_case(event.case_id)
    if case.state in (wf.ANALYZING, wf.PLANNING):
        fire(case, "park", actor=ACTOR, reason=event.reason, data=event.to_data())


@events.subscriber("orchestrator.finding_resolved", "evt.analysis.finding.resolved.v1")
def on_finding_resolved(event) -> None:
    correlate.finding_resolved(event.finding)
