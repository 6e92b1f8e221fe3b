"""The Planner's subscriber: PLANNING asks for a plan."""

from apps.cases import events
from apps.cases.services import lock_case, timeline_note
from apps.planner import services
from apps.planner.events import PlanFailed
from apps.planner.exceptions import PlanInvalid, PlanOutOfBounds, PlanRequestInvalid


@events.subscriber("planner.propose", events.PlanRequested)
def on_plan_requested(command) -> None:
    try:
        services.plan_on_request(case_id=command.case_id, case_version=command.case_version)
    except (PlanRequestInvalid, PlanInvalid, PlanOutOfBounds) as exc:
        # A template that cannot build a plan for this case, or one reaching outside its
        # environment: say so; the case parks.
        case = lock_case(command.case_id)
        reason = f"the Planner could not propose a plan: {exc.detail}"
        timeline_note(case, event="plan_failure", actor=services.ACTOR, reason=reason)
        PlanFailed(case_id=command.case_id, reason=reason).emit()
