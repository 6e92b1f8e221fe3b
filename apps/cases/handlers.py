"""The Orchestrator's subscribers: module events fire the matching case transitions.

Each runs inside the delivery transaction with its inbox row. An event that no longer
fits the case's state (it was parked meanwhile, say) is noted on the timeline, not retried.
"""

from apps.cases import events
from apps.cases.exceptions import GuardFailed, IllegalTransition
from apps.cases.services import fire, lock_case, timeline_note

ACTOR = "system:orchestrator"


def _fire_or_note(case_id: str, event: str, reason: str, data: dict) -> None:
    case = lock_case(case_id)
    try:
        fire(case, event, actor=ACTOR, reason=reason, data=data)
    except (IllegalTransition, GuardFailed) as refused:
        timeline_note(case, event=f"{event}_ignored", actor=ACTOR, reason=refused.detail, data=data)


@events.subscriber("orchestrator.plan_approved", events.PLAN_APPROVED)
def on_plan_approved(envelope: dict) -> None:
    data = envelope["data"]
    _fire_or_note(envelope["subject"], "gate_approved", data.get("reason", ""), data)


@events.subscriber("orchestrator.exec_finished", events.EXEC_DONE, events.EXEC_FAILED)
def on_exec_finished(envelope: dict) -> None:
    data = envelope["data"]
    if envelope["type"] == events.EXEC_DONE:
        _fire_or_note(envelope["subject"], "exec_done", "", data)
    else:
        _fire_or_note(
            envelope["subject"], "exec_failed", data.get("reason", "execution failed"), data
        )


@events.subscriber("orchestrator.verify_result", events.VERIFY_RESULT)
def on_verify_result(envelope: dict) -> None:
    data = envelope["data"]
    event = "verify_pass" if data.get("passed") else "verify_failed"
    _fire_or_note(envelope["subject"], event, data.get("summary", ""), data)
