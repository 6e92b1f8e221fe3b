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


@events.subscriber("gate.void_on_park", events.CaseTransitioned)
def on_case_transition(event) -> None:
    if event.to_state == wf.PARKED:
        services.approvals_void(case_id=event.case_id, reason=f"case parked: {event.reason}")


@events.subscriber("gate.blast_radius", events.CaseTransitioned)
def on_run_finished(event) -> None:
    """A change left EXECUTING/VERIFYING: a case the blast radius held back may go."""
    if event.from_state in (wf.EXECUTING, wf.VERIFYING) and event.to_state in (
        wf.CLOSED,
        wf.PARKED,
    ):
        services.gate_release_deferred(service=event.service, environment=event.environment)
