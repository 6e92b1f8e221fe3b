"""The Gatekeeper's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class GateDecided(Event):
    type = "evt.gate.decision.v1"
    description = (
        "A gate decision on a plan revision: approved (the Orchestrator fires gate_approved), "
        "rejected (gate_rejected: the case parks) or needs_human (the case waits)."
    )
    plan_id: str
    revision: int
    decision_id: str
    decision: str
    reasons: list[str]
    policy_version: int | None
    risk: int
    actor: str
    kind: str
    approval_id: str


@dataclass(frozen=True)
class PlanApprovedEvent(Event):
    type = "evt.plan.approved.v1"
    description = "A plan revision was approved for one run (published for outside consumers)."
    plan_id: str
    revision: int
    decision_id: str
    approval_id: str
    approved_by: str
    policy_version: int | None
    case_version: int


@dataclass(frozen=True)
class KillSwitchFlipped(Event):
    """Not about one case: case_id is empty; the affected cases each get a timeline note."""

    type = "evt.gate.kill_switch.v1"
    description = "The kill switch was engaged or lifted (case_id empty: it is global)."
    engaged: bool
    reason: str
    actor: str
    affected_cases: list[str]
