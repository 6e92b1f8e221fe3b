"""The case page's buttons: what a person may do to a case now, and doing it through the same
service as the API, with the version the page showed as If-Match (a stale page changes
nothing). `available` is pure; `take` calls the services."""

from __future__ import annotations

from dataclasses import dataclass

from aiops.actors import actor_name
from aiops.permissions import APPROVER, OPERATOR, ROLES
from apps.cases import services as case_services
from apps.cases import workflow as wf
from apps.gate import services as gate_services

REQUIRED, OPTIONAL = "required", "optional"


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    role: str
    reason: str = ""  # "", OPTIONAL or REQUIRED
    danger: bool = False


LABELS = {
    "start_analysis": "Start analysis",
    "plan_ready": "Send the plan to the gate",
    "park": "Park",
    "resume": "Resume (plan again)",
    "close": "Close",
}
APPROVE = Action("approve", "Approve the plan", APPROVER, reason=OPTIONAL)
REJECT = Action("reject", "Reject the plan", APPROVER, reason=REQUIRED, danger=True)


def transition_action(event: str) -> Action:
    transition = wf.BY_EVENT[event]
    return Action(
        event,
        LABELS.get(event, event),
        OPERATOR,
        reason=REQUIRED if transition.reason_required else "",
        danger=event == "park",
    )


def available(state: str, *, waiting_for_person: bool, roles: set[str]) -> list[Action]:
    """The actions `roles` may take on a case in `state`: people's events (operators), and
    approve/reject while the latest plan waits for a person (approvers)."""
    actions = [
        transition_action(event)
        for event in wf.allowed_events(state)
        if wf.BY_EVENT[event].by == wf.PERSON
    ]
    if state == wf.WAIT_GATE and waiting_for_person:
        actions = [APPROVE, REJECT, *actions]
    return [action for action in actions if action.role in roles]


def find(name: str) -> Action | None:
    if name in (APPROVE.name, REJECT.name):
        return APPROVE if name == APPROVE.name else REJECT
    if name in wf.BY_EVENT and wf.BY_EVENT[name].by == wf.PERSON:
        return transition_action(name)
    return None


def roles_of(user) -> set[str]:
    """The user's roles, read once per request (kept on the request's user object)."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_console_roles"):
        user._console_roles = (
            set(ROLES)
            if user.is_superuser
            else set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        )
    return user._console_roles


def take(action: Action, *, case_id, user, reason: str, if_match: int) -> str:
    """Do `action` as `user`; returns what happened, in a sentence. Raises the services'
    problems (StaleVersion, FourEyesViolation, IllegalTransition, …)."""
    actor = actor_name(user)
    if action is APPROVE:
        gate_services.gate_approve(
            case_id=case_id, user=user, actor=actor, comment=reason, if_match=if_match
        )
        return "Approved: the run starts as soon as the case moves on."
    if action is REJECT:
        gate_services.gate_reject(
            case_id=case_id, user=user, actor=actor, comment=reason, if_match=if_match
        )
        return "Rejected: the case parks with your comment."
    case = case_services.case_transition(
        case_id=case_id, event=action.name, actor=actor, reason=reason, if_match=if_match
    )
    return f"{action.label}: the case is now {case.state}."
