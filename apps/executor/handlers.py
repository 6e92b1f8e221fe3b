"""Executor subscribers: EXECUTING asks for a run; parking a case cancels its run; a failed
verification asks for the rollback of the run it judged."""

from apps.cases import events
from apps.cases.services import lock_case, timeline_note
from apps.cases.workflow import PARKED
from apps.executor import services
from apps.executor.exceptions import ExecNotAllowed, RunActive


@events.subscriber("executor.start", events.ExecutionRequested)
def on_execution_requested(command) -> None:
    try:
        services.exec_start(
            case_id=command.case_id, actor=services.ACTOR, case_version=command.case_version
        )
    except (ExecNotAllowed, RunActive) as refused:
        # Someone started it by hand first, or the approval is gone: say so, change nothing.
        case = lock_case(command.case_id)
        timeline_note(case, event="exec_start_skipped", actor=services.ACTOR, reason=refused.detail)


@events.subscriber("executor.rollback", events.RollbackRequested)
def on_rollback_requested(command) -> None:
    services.rollback_start(
        case_id=command.case_id,
        run_id=command.run_id,
        case_version=command.case_version,
        actor=command.requested_by,
    )


@events.subscriber("executor.cancel_on_park", events.CaseTransitioned, when=events.entering(PARKED))
def on_case_transition(event) -> None:
    # verify_failed parks a case whose run is over; what runs after it is its rollback,
    # which this delivery (in any order with the rollback's) must not cancel.
    if event.event == "verify_failed":
        return
    services.run_cancel(case_id=event.case_id, reason=event.reason or "case parked")
