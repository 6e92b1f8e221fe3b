"""The Planner's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class PlanProposedEvent(Event):
    type = "evt.plan.proposed.v1"
    description = "A plan revision was proposed; `ready` when it may go to the gate."
    plan_id: str
    revision: int
    template: str
    risk: int
    environment: str
    service: str
    ready: bool
    missing: list[str]
    actor: str


@dataclass(frozen=True)
class PlanWaiting(Event):
    type = "evt.plan.waiting.v1"
    description = "The Planner has nothing to plan from: the case waits for a hand-written plan."
    reason: str


@dataclass(frozen=True)
class PlanFailed(Event):
    type = "evt.plan.failed.v1"
    description = "The Planner could not propose a plan by itself; the case parks with why."
    reason: str
