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


@dataclass(frozen=True)
class Transition:
    event: str
    sources: tuple[str, ...]
    target: str
    seed_name: str | None = None
    reason_required: bool = False
    guard: str | None = None  # name of a guard another app registers (see guards.py)


TRANSITIONS: tuple[Transition, ...] = (
    Transition("start_analysis", (NEW,), ANALYZING, seed_name="start_analysis"),
    Transition("analysis_done", (ANALYZING,), PLANNING, seed_name="EAnalysisDone"),
    Transition("plan_ready", (PLANNING,), WAIT_GATE, seed_name="EPlanReady", guard="plan_ready"),
    Transition(
        "gate_approved", (WAIT_GATE,), EXECUTING, seed_name="EGateApproved", guard="gate_approved"
    ),
    Transition("gate_rejected", (WAIT_GATE,), PARKED, reason_required=True),
    Transition("exec_done", (EXECUTING,), VERIFYING, seed_name="EExecDone", guard="exec_done"),
    Transition("exec_failed", (EXECUTING,), PARKED, seed_name="EExecFailed"),
    Transition("verify_pass", (VERIFYING,), CLOSED, seed_name="EVerifyPass", guard="verify_pass"),
    Transition("verify_failed", (VERIFYING,), PARKED, seed_name="EVerifyFailed"),
    Transition("park", OPEN_STATES, PARKED, reason_required=True),
    Transition("resume", (PARKED,), PLANNING),
    Transition("close", (PARKED,), CLOSED, reason_required=True),
)

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


def target_of(event: str, state: str) -> str | None:
    """The state `event` leads to from `state`, or None when it is illegal there."""
    transition = BY_EVENT[canonical_event(event)]
    return transition.target if state in transition.sources else None
