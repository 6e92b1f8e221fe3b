"""Orchestrator use cases. Each is one transaction: state + timeline + outbox together."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from aiops import rows
from aiops.actors import actor_name
from aiops.middleware import case_id_var, request_id_var
from apps.cases import autopilot, events, metrics, selectors
from apps.cases import workflow as wf
from apps.cases.exceptions import (
    CaseNotFound,
    GuardFailed,
    IllegalTransition,
    ModuleEvent,
    NoVerifyDecision,
    ReasonRequired,
    StaleVersion,
    UnknownEvent,
)
from apps.cases.guards import check_guard
from apps.cases.models import CaseTimeline, OpsCase

log = logging.getLogger(__name__)
ACTOR = "system:orchestrator"


def case_create(
    *,
    actor,
    title: str,
    service: str,
    environment: str,
    severity: str = "sev3",
    description: str = "",
    labels: dict | None = None,
    template: str = "",
    params: dict | None = None,
    actor_label: str = "",
) -> OpsCase:
    """Open a case in NEW. Emits evt.case.transition.v1 (event "create"). `actor_label` names
    a module that opens it (no user).

    A case that knows what to plan from (a template, or a finding in its labels) starts
    analysis at once unless its environment's autopilot is manual; the loop then runs on
    by itself as far as the gate's policy allows.
    """
    with transaction.atomic():
        case = OpsCase.objects.create(
            title=title,
            service=service,
            environment=environment,
            severity=severity,
            description=description,
            labels=labels or {},
            template=template,
            params=params or {},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        who = actor_label or actor_name(actor)
        reason = description[:500] if actor_label else ""
        _record(case, event="create", from_state="", actor=who, reason=reason)
        if wf.auto_start(
            has_template=bool(template),
            has_finding=bool(case.labels.get("finding")),
            autopilot=autopilot.mode_for(environment),
        ):
            fire(case, "start_analysis", actor=ACTOR, reason="created with what to plan from")
    return case


def lock_case(case_id, *, with_creator: bool = False) -> OpsCase:
    """SELECT … FOR UPDATE the case (inside the caller's transaction) or raise CaseNotFound.
    `with_creator` reads the creator's user in the same statement, for an answer that
    shows it."""
    try:
        uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound(f"No case {case_id}.") from None
    # By a statement built once (aiops.rows): every worker handler, step claim and API write
    # on a case starts here. Only the API's answer shows the creator; the rest read the case
    # row alone.
    case = rows.lock(OpsCase, case_id, related="created_by" if with_creator else None)
    if case is None:
        raise CaseNotFound(f"No case {case_id}.")
    case_id_var.set(str(case.pk))  # every later log line of this request/task names the case
    return case


def case_transition(
    *,
    case_id,
    event: str,
    actor: str,
    reason: str = "",
    if_match: int | None = None,
) -> OpsCase:
    """A person fires `event` (API or seed name) on a case.

    Only people's events (workflow.person_events()); a module's outcome reaches the case as
    that module's event. Raises UnknownEvent (400), ModuleEvent (403), CaseNotFound (404),
    StaleVersion (412), IllegalTransition, GuardFailed (409), ReasonRequired (400).
    Emits evt.case.transition.v1 (and the new state's command, see workflow.ON_ENTRY).
    """
    try:
        name = wf.canonical_event(event)
    except wf.UnknownEvent:
        raise UnknownEvent(
            f"Unknown event '{event}'.", known_events=wf.known_event_names()
        ) from None
    transition = wf.BY_EVENT[name]
    if transition.by != wf.PERSON:
        raise ModuleEvent(
            f"'{name}' is a module's outcome, not a person's event: it is reported by the "
            f"{transition.reported_by}.",
            event=name,
            person_events=wf.person_events(),
        )
    with transaction.atomic():
        case = lock_case(case_id, with_creator=True)  # the API answers with the case
        if if_match is not None and if_match != case.version:
            metrics.conflict_total.labels(kind="stale").inc()
            raise StaleVersion(
                f"Case is at version {case.version}, not {if_match}.",
                current_version=case.version,
            )
        return fire(case, name, actor=actor, reason=reason)


def fire(case: OpsCase, event: str, *, actor: str, reason: str = "", data: dict | None = None):
    """Apply a transition to a case already locked in the caller's transaction.

    The Orchestrator's own: its API (case_transition, case_park) and its subscribers call it;
    other apps report outcomes as events. Entering a state emits what that state asks for.
    """
    transition = wf.BY_EVENT[event]
    if case.state not in transition.sources:
        metrics.conflict_total.labels(kind="illegal").inc()
        raise IllegalTransition(
            f"'{event}' is not allowed in state {case.state}.",
            state=case.state,
            allowed_events=wf.allowed_events(case.state),
        )
    if transition.reason_required and not reason.strip():
        raise ReasonRequired(f"'{event}' needs a reason.")
    if transition.guard:
        refusal = check_guard(transition.guard, case)
        if refusal:
            raise GuardFailed(refusal, state=case.state, guard=transition.guard)
    from_state, entered = case.state, case.state_entered_at
    getattr(case, event)()
    case.version += 1
    case.state_entered_at = timezone.now()
    rows.update(case, ("state", "version", "updated_at", "state_entered_at"))
    seconds = max(0.0, (case.state_entered_at - entered).total_seconds())
    observe = metrics.case_state_duration_seconds.labels(state=from_state).observe
    transaction.on_commit(lambda: observe(seconds), robust=True)
    _record(case, event=event, from_state=from_state, actor=actor, reason=reason, data=data)
    # The policy (a query) is read only when the state entered may ask a module for work.
    if case.state in wf.ON_ENTRY:
        mode = autopilot.mode_for(case.environment)
        command = wf.asks_on_entry(case.state, mode)
        if command:
            events.COMMANDS[command](
                case_id=str(case.pk),
                case_version=case.version,
                state=case.state,
                service=case.service,
                environment=case.environment,
                autopilot=mode,
            ).emit()
    labels = {"event": event, "from": from_state, "to": case.state}
    # Counted only once the transition is durable.
    transaction.on_commit(metrics.case_transition_total.labels(**labels).inc, robust=True)
    return case


def case_park(*, case_id, actor: str, reason: str) -> OpsCase | None:
    """Park an open case with a reason; a no-op (None) when it is no longer open."""
    with transaction.atomic():
        case = lock_case(case_id)
        if not case.is_open:
            timeline_note(case, event="park_skipped", actor=actor, reason=reason)
            return None
        return fire(case, "park", actor=actor, reason=reason)


def timeline_note(case: OpsCase, *, event: str, actor: str, reason: str = "", data=None):
    """A timeline row that records a decision without changing state (caller's transaction).
    Its name never reads as a transition's, so the timeline says what really happened."""
    if event in wf.known_event_names():
        raise ValueError(f"timeline note '{event}' would read as a transition")
    return rows.insert(
        CaseTimeline(
            case=case,
            event=event,
            from_state=case.state,
            to_state=case.state,
            actor=actor,
            reason=reason,
            data=data or {},
            request_id=_request_id(),
        )
    )


def _record(case: OpsCase, *, event, from_state, actor, reason, data=None) -> None:
    rows.insert(
        CaseTimeline(
            case=case,
            event=event,
            from_state=from_state,
            to_state=case.state,
            actor=actor,
            reason=reason,
            data=data or {},
            request_id=_request_id(),
        )
    )
    events.CaseTransitioned(
        case_id=str(case.pk),
        event=event,
        from_state=from_state,
        to_state=case.state,
        version=case.version,
        actor=actor,
        reason=reason,
        service=case.service,
        environment=case.environment,
    ).emit()


def _request_id() -> str:
    value = request_id_var.get()
    return "" if value == "-" else value


# --- after a failed verification: roll back, or a person decides ---


def verify_decision_ask(case: OpsCase, *, event, mode: str, failed: bool) -> None:
    """Note on a case just parked by verify_failed that a person is to roll back or accept
    (caller's transaction). The note keeps the run to undo for a later rollback."""
    why = "on_verify_fail: pause" if failed else "the verification was inconclusive"
    timeline_note(
        case,
        event=selectors.VERIFY_DECISION_PENDING,
        actor=ACTOR,
        reason=f"{why}: a person decides — roll back or accept "
        f"(POST /case/{case.pk}/verify-decision)",
        data={"run_id": event.run_id, "verification_id": event.verification_id, "mode": mode},
    )


def rollback_request(case: OpsCase, *, run_id: str, actor: str, reason: str) -> None:
    """Ask the Executor to run the rollback steps of `run_id` (caller's transaction, case
    locked): cmd.exec.rollback.v1, bound to the case's version, so a case resumed meanwhile
    is left alone."""
    timeline_note(
        case,
        event=selectors.VERIFY_ROLLBACK_REQUESTED,
        actor=actor,
        reason=reason,
        data={"run_id": run_id},
    )
    events.RollbackRequested(
        case_id=str(case.pk),
        case_version=case.version,
        state=case.state,
        service=case.service,
        environment=case.environment,
        autopilot=autopilot.mode_for(case.environment),
        run_id=run_id,
        requested_by=actor,
    ).emit()


def verify_decide(*, case_id, decision: str, actor: str, reason: str = "") -> OpsCase:
    """A person settles a failed verification the case waits on: `rollback` (the Executor
    runs the plan's rollback steps; the case stays PARKED) or `accept` (the change stays:
    note verify_accepted, which counts as the verification overridden, then close).
    Raises CaseNotFound (404), NoVerifyDecision (409: not waiting for one)."""
    with transaction.atomic():
        case = lock_case(case_id)
        pending = selectors.verify_decision_pending(case)
        if pending is None:
            raise NoVerifyDecision(
                "The case is not parked by a failed verification waiting for a person.",
                state=case.state,
            )
        run_id = str(pending.data.get("run_id", ""))
        if decision == "rollback":
            rollback_request(case, run_id=run_id, actor=actor, reason=reason or "a person chose")
            return case
        timeline_note(
            case,
            event=selectors.VERIFY_ACCEPTED,
            actor=actor,
            reason=reason,
            data={"run_id": run_id, "verification_id": pending.data.get("verification_id", "")},
        )
        fire(
            case,
            "close",
            actor=actor,
            reason=reason or "accepted after a failed verification",
            data={"verify_override": True, "run_id": run_id},
        )
        transaction.on_commit(metrics.verify_overrides_total.inc, robust=True)
    return case
