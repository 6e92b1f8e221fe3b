"""The Gatekeeper's subscribers: WAIT_GATE asks for a decision; parking voids approvals; a
finished change releases a case the blast radius held back."""

from apps.cases import events
from apps.cases import workflow as wf
from apps.gate import services


@events.subscriber("gate.evaluate", events.GateRequested)
def on_gate_requested(command) -> None:
    services.gate_eval(
        case_id=command.case_id, actor=services.SYSTEM_ACTOR, case_version=command.case_version
    )


@events.subscriber("gate.void_on_park", events.CaseTransitioned, when=events.entering(wf.PARKED))
def on_case_transition(event) -> None:
    services.approvals_void(case_id=event.case_id, reason=f"case parked: {event.reason}")


@events.subscriber(
    "gate.blast_radius",
    events.CaseTransitioned,
    when=events.entering(wf.CLOSED, wf.PARKED, leaving=(wf.EXECUTING, wf.VERIFYING)),
)
def on_run_finished(event) -> None:
    """A change left EXECUTING/VERIFYING: a case the blast radius held back may go."""
    services.gate_release_deferred(service=event.service, environment=event.environment)
