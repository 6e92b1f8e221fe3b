"""What is worth telling people: a plan waiting for a human, a case parked, a case closed."""

from aiops import rows
from apps.cases import events
from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.notify.services import notify


def _case(case_id):
    # Every park and close comes here: a statement built once (aiops.rows), not an ORM query
    # compiled per delivery.
    return rows.get(OpsCase, case_id)


@events.subscriber(
    "notify.case", events.CaseTransitioned, when=events.entering(wf.PARKED, wf.CLOSED)
)
def on_case_transition(event) -> None:
    what = {wf.PARKED: "parked", wf.CLOSED: "closed"}[event.to_state]
    case = _case(event.case_id)
    if case is not None:
        notify(event_id=events.delivering.get(), what=what, case=case, reason=event.reason)


@events.subscriber(
    "notify.gate",
    "evt.gate.decision.v1",
    when=events.When("decision needs_human", lambda data: data.get("decision") == "needs_human"),
)
def on_gate_decision(event) -> None:
    case = _case(event.case_id)
    if case is not None:
        notify(
            event_id=events.delivering.get(),
            what="needs_human",
            case=case,
            reason="; ".join(event.reasons),
        )
