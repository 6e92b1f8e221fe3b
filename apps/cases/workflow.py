"""The case state machine as data: states, events, seed aliases, and which events are legal.

Pure: no Django, no I/O. The model's django-fsm transitions are generated from TRANSITIONS,
so this table is the single source of truth (DESIGN §2).
"""

from __future__ import annotations

from dataclasses import dataclass

NEW = "NEW"
ANALYZING = "ANALYZING"
PLANNING = "PLANNING"
WAIT_GATE = "WAIT_GATE"
EXECUTING = "EXECUTING"
VERIFYING = "VERIFYING"
CLOSED = "CLOSED"
PARKED = "PARKED"

STATES = (NEW, ANALYZING, PLANNING, WAIT_GATE, EXECUTING, VERIFYING, CLOSED, PARKED)
OPEN_STATES = (NEW, ANALYZING, PLANNING, WAIT_GATE, EXECUTING, VERIFYING)


# Who fires an event. People fire theirs through PATCH /case/{id}/transition; a module's
# outcome reaches the Orchestrator only as that module's event (see docs/architecture.md).
PERSON, MODULE = "person", "module"


@dataclass(frozen=True)
class Transition:
    event: str
    sources: tuple[str, ...]
    target: str
    seed_name: str | None = None
    reason_required: bool = False
    guard: str | None = None  # name of a guard another app registers (see guards.py)
    by: str = PERSON
    reported_by: str = ""  # for a module event: the module whose outcome it is


TRANSITIONS: tuple[Transition, ...] = (
    Transition("start_analysis", (NEW,), ANALYZING, seed_name="start_analysis"),
    Transition(
        "analysis_done",
        (ANALYZING,),
        PLANNING,
        seed_name="EAnalysisDone",
        by=MODULE,
        reported_by="Analyst (evt.analysis.findings.v1) or Planner (evt.plan.proposed.v1)",
    ),
    Transition("plan_ready", (PLANNING,), WAIT_GATE, seed_name="EPlanReady", guard="plan_ready"),
    Transition(
        "gate_approved",
        (WAIT_GATE,),
        EXECUTING,
        seed_name="EGateApproved",
        guard="gate_approved",
        by=MODULE,
        reported_by="Gatekeeper (evt.gate.decision.v1): approve through POST /gate/approve",
    ),
    Transition(
        "gate_rejected",
        (WAIT_GATE,),
        PARKED,
        reason_required=True,
        by=MODULE,
        reported_by="Gatekeeper (evt.gate.decision.v1): reject through POST /gate/reject",
    ),
    Transition(
        "exec_done",
        (EXECUTING,),
        VERIFYING,
        seed_name="EExecDone",
        guard="exec_done",
        by=MODULE,
        reported_by="Executor (evt.exec.done.v1)",
    ),
    Transition(
        "exec_failed",
        (EXECUTING,),
        PARKED,
        seed_name="EExecFailed",
        by=MODULE,
        reported_by="Executor (evt.exec.failed.v1)",
    ),
    Transition(
        "verify_pass",
        (VERIFYING,),
        CLOSED,
        seed_name="EVerifyPass",
        guard="verify_pass",
        by=MODULE,
        reported_by="Verifier (evt.verify.result.v1)",
    ),
    Transition(
        "verify_failed",
        (VERIFYING,),
        PARKED,
        seed_name="EVerifyFailed",
        by=MODULE,
        reported_by="Verifier (evt.verify.result.v1)",
    ),
    Transition("park", OPEN_STATES, PARKED, reason_required=True),
    Transition("resume", (PARKED,), PLANNING),
    Transition("close", (PARKED,), CLOSED, reason_required=True),
)

# What a state asks for on entry: the Orchestrator emits this command (through the outbox)
# in the transaction that enters the state, unless the environment's autopilot is manual.
ANALYZE = "cmd.analysis.run.v1"
PROPOSE_PLAN = "cmd.plan.propose.v1"
EVALUATE_GATE = "cmd.gate.evaluate.v1"
START_EXECUTION = "cmd.exec.start.v1"
SCHEDULE_VERIFICATION = "cmd.verify.schedule.v1"
ON_ENTRY: dict[str, str] = {
    ANALYZING: ANALYZE,
    PLANNING: PROPOSE_PLAN,
    WAIT_GATE: EVALUATE_GATE,
    EXECUTING: START_EXECUTION,
    VERIFYING: SCHEDULE_VERIFICATION,
}

# How far the loop runs without a person, per environment (the gate policy's `autopilot`).
AUTOPILOT_MANUAL = "manual"  # nothing is asked on entry: people call each stage's endpoint
AUTOPILOT_SUPERVISED = "supervised"  # the loop runs itself; every plan needs a human approval
AUTOPILOT_LOW_RISK = "low_risk"  # plans the policy rates low risk run unattended
AUTOPILOT_MODES = (AUTOPILOT_MANUAL, AUTOPILOT_SUPERVISED, AUTOPILOT_LOW_RISK)

# What a failed verification does, per environment (the gate policy's `on_verify_fail`).
# Either way the case parks (verify_failed); the difference is who acts next.
VERIFY_FAIL_ROLLBACK = "rollback"  # the Executor runs the plan's rollback steps at once
VERIFY_FAIL_PAUSE = "pause"  # a person chooses: roll back, or accept the change as it is
VERIFY_FAIL_MODES = (VERIFY_FAIL_ROLLBACK, VERIFY_FAIL_PAUSE)
VERIFY_DECISIONS = ("rollback", "accept")

BY_EVENT: dict[str, Transition] = {t.event: t for t in TRANSITIONS}
_ALIASES: dict[str, str] = {t.seed_name: t.event for t in TRANSITIONS if t.seed_name}


class UnknownEvent(ValueError):
    pass


def canonical_event(name: str) -> str:
    """Map an API or seed event name to the API name; raise UnknownEvent otherwise."""
    if name in BY_EVENT:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise UnknownEvent(name)


def known_event_names() -> list[str]:
    return sorted({*BY_EVENT, *_ALIASES})


def allowed_events(state: str) -> list[str]:
    """API names of the events that may fire from `state`, in table order."""
    return [t.event for t in TRANSITIONS if state in t.sources]


def person_events() -> list[str]:
    """API names of the events people may fire (PATCH /case/{id}/transition)."""
    return [t.event for t in TRANSITIONS if t.by == PERSON]


def asks_on_entry(state: str, autopilot: str) -> str | None:
    """The command entering `state` issues under `autopilot`, or None."""
    if autopilot == AUTOPILOT_MANUAL:
        return None
    return ON_ENTRY.get(state)


def auto_start(*, has_template: bool, has_finding: bool, autopilot: str) -> bool:
    """Does a new case start analysis by itself? When it knows what to plan from."""
    return autopilot != AUTOPILOT_MANUAL and (has_template or has_finding)


# States in which nothing has been changed yet: a case whose findings all resolved here may
# close itself (AIOPS_CLOSE_ON_RESOLVE); from EXECUTING on, people look at what was done.
UNCHANGED_STATES = (NEW, ANALYZING, PLANNING, WAIT_GATE)


def correlation_key(finding: dict) -> str:
    """Findings with one key belong to one case: same service, environment and kind."""
    return (
        f"{finding.get('service', '')}/{finding.get('environment', '')}/{finding.get('kind', '')}"
    )
