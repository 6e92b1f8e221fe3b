"""Gatekeeper use cases: evaluate a plan, human approve/reject, expire pending approvals,
single-use approvals (consume, re-check before the first step), the kill switch, and policy
versions. Each decision is one transaction: gate_decision + timeline + events; the
Orchestrator turns evt.gate.decision.v1 into gate_approved or gate_rejected."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from aiops import rows
from aiops.metrics import conflict_total
from aiops.problems import BadRequest
from apps.cases import workflow as wf
from apps.cases.exceptions import StaleVersion
from apps.cases.models import OpsCase
from apps.cases.services import lock_case, timeline_note
from apps.gate import metrics, selectors, targets
from apps.gate.events import GateDecided, KillSwitchFlipped, PlanApprovedEvent
from apps.gate.exceptions import (
    AlreadyDecided,
    CommentRequired,
    FourEyesViolation,
    KillSwitchEngaged,
    NoPendingApproval,
    NotAtGate,
)
from apps.gate.models import GateDecision, GatePolicy, KillSwitch, KillSwitchFlip, PlanApproved
from apps.gate.policy import APPROVED, DEFERRED, NEEDS_HUMAN, REJECTED, PlanFacts, evaluate
from apps.gate.policy import validate_document as validate_policy_document
from apps.planner.models import PlanProposed
from apps.planner.selectors import latest_plan

SYSTEM_ACTOR = "system:gate"


def gate_eval(
    *, case_id, actor: str, now: datetime | None = None, case_version: int | None = None
) -> GateDecision | None:
    """Judge the case's latest plan against the policy in force.

    Every outcome: gate_decision, a timeline row and evt.gate.decision.v1 (approved → also a
    single-use plan_approved and evt.plan.approved.v1). With `case_version` (the Orchestrator
    asked) it does nothing and returns None when the case moved on or the plan is decided.
    Raises CaseNotFound (404), NotAtGate / AlreadyDecided (409).
    """
    started = time.perf_counter()
    with transaction.atomic():
        case = lock_case(case_id)
        if case_version is not None:
            if case.state != wf.WAIT_GATE or case.version != case_version:
                return None
            if selectors.live_approval(case) is not None:
                return None
        plan = _plan_at_gate(case)
        policy = selectors.policy_in_force()
        # Judged one at a time per service and environment, so two cases never both take
        # the last automated slot (max_automated_runs).
        selectors.lock_blast_radius(case.service, case.environment)
        facts = _facts(
            plan,
            kill_switch=selectors.kill_switch().engaged,
            automated_in_flight=selectors.automated_in_flight(case, actor=SYSTEM_ACTOR),
        )
        verdict = evaluate(facts, policy.as_policy(), now or timezone.now())
        if verdict.decision == DEFERRED and _still_deferred(plan):
            # Still no room: the deferral on record stands; the periodic release asks every
            # minute and must not add a row each time.
            return None if case_version is not None else selectors.latest_decision(plan)
        latency_ms = (time.perf_counter() - started) * 1000
        decision = _decide(
            case,
            plan,
            verdict.decision,
            verdict.reasons,
            actor=actor,
            policy_version=policy.version,
            latency_ms=latency_ms,
            kind="policy",
        )
    metrics.gate_decision_latency_seconds.observe(latency_ms / 1000)
    return decision


def gate_approve(
    *, case_id, user, actor: str, comment: str = "", if_match: int | None = None
) -> GateDecision:
    """A human approves a plan that needs one. With four-eyes on for the plan's environment the
    approver must not be its requester (compared by user id). With `if_match` the case must
    still be at that version (what the person saw). Raises StaleVersion (412),
    FourEyesViolation (403), KillSwitchEngaged, NotAtGate, AlreadyDecided,
    NoPendingApproval (409)."""
    with transaction.atomic():
        case = lock_case(case_id)
        _check_version(case, if_match)
        plan = _plan_at_gate(case)
        _pending(plan)
        switch = selectors.kill_switch()
        if switch.engaged:
            raise KillSwitchEngaged(
                f"The kill switch is engaged ({switch.reason or 'no reason given'}): no run may "
                "start. Lift it first.",
                engaged_by=switch.changed_by,
            )
        policy = selectors.policy_in_force()
        environment = plan.spec["target"]["environment"]
        if (
            policy.as_policy().four_eyes(environment)
            and plan.requested_by_id is not None
            and plan.requested_by_id == getattr(user, "pk", None)
        ):
            raise FourEyesViolation(
                f"Four-eyes is on for {environment}: {actor} requested this plan and "
                "cannot approve it.",
                requester=plan.created_by,
            )
        reason = f"approved by {actor}" + (f": {comment}" if comment else "")
        return _decide(
            case,
            plan,
            APPROVED,
            [reason],
            actor=actor,
            user=user,
            policy_version=policy.version,
            comment=comment,
            kind="human",
        )


def gate_reject(
    *, case_id, user, actor: str, comment: str, if_match: int | None = None
) -> GateDecision:
    """A human rejects a plan that needs a decision; the case parks with the comment.
    `if_match` as for gate_approve."""
    if not (comment or "").strip():
        raise CommentRequired("Say why the plan is rejected (comment).")
    with transaction.atomic():
        case = lock_case(case_id)
        _check_version(case, if_match)
        plan = _plan_at_gate(case)
        _pending(plan)
        policy = selectors.policy_in_force()
        return _decide(
            case,
            plan,
            REJECTED,
            [f"rejected by {actor}: {comment}"],
            actor=actor,
            user=user,
            policy_version=policy.version,
            comment=comment,
            kind="human",
        )


def gate_expire_pending(*, now: datetime | None = None) -> int:
    """Reject (and so park) every pending approval older than the policy's TTL."""
    now = now or timezone.now()
    policy = selectors.policy_in_force()
    ttl = policy.as_policy().approval_ttl_minutes
    cutoff = now - timedelta(minutes=ttl)
    expired = 0
    for pending in selectors.pending_approvals().filter(pending_since__lt=cutoff):
        with transaction.atomic():
            case = lock_case(pending.pk)
            plan = latest_plan(case.pk)
            decision = selectors.latest_decision(plan) if plan else None
            still_pending = (
                case.state == wf.WAIT_GATE
                and decision is not None
                and decision.decision == NEEDS_HUMAN
                and decision.created_at < cutoff
            )
            if not still_pending:
                continue  # decided meanwhile
            _decide(
                case,
                plan,
                REJECTED,
                [f"no human decision within the approval TTL of {ttl} minutes"],
                actor=SYSTEM_ACTOR,
                policy_version=policy.version,
                kind="expired",
            )
            expired += 1
    return expired


# --- single-use approvals -------------------------------------------------------------------


def approval_consume(*, case: OpsCase, run_id) -> PlanApproved | None:
    """Take the approval that moved this case (locked by the caller) into EXECUTING for one
    run. None when there is none: consumed already, voided, or given at another version."""
    approval = selectors.approval_to_consume.first(case.pk, case.version - 1)
    if approval is None or case.state != wf.EXECUTING:
        return None
    if approval.plan_id != getattr(latest_plan(case.pk), "pk", None):
        return None
    approval.consumed_at = timezone.now()
    approval.consumed_by_run = run_id
    approval.save(update_fields=["consumed_at", "consumed_by_run"])
    return approval


def approval_holds(approval: PlanApproved, *, now: datetime | None = None) -> str | None:
    """Does the approval still hold now (asked just before a run's first step)? None if so,
    else why not: the kill switch, or the policy in force now (a freeze or window that began
    since, a changed policy) no longer approves it — a human approval survives a verdict
    that merely needs a human, an automatic one does not."""
    switch = selectors.kill_switch()
    if switch.engaged:
        return f"the kill switch is engaged by {switch.changed_by}: {switch.reason}".rstrip(": ")
    policy = selectors.policy_in_force()
    verdict = evaluate(_facts(approval.plan), policy.as_policy(), now or timezone.now())
    human = approval.decision.kind == "human"
    if verdict.decision == APPROVED or (verdict.decision == NEEDS_HUMAN and human):
        return None
    changed = (
        f" (policy v{approval.policy_version} → v{policy.version})"
        if policy.version != approval.policy_version
        else ""
    )
    return "the approval no longer holds" + changed + ": " + "; ".join(verdict.reasons)


def approvals_void(*, case_id, reason: str) -> int:
    """Mark a parked case's unconsumed approvals void (for the record: an approval is already
    bound to the case version it was given at)."""
    # Every park comes here, most with nothing to void: a statement built once (aiops.rows).
    return rows.update_where(
        PlanApproved,
        {"voided_at": timezone.now(), "void_reason": reason[:2000]},
        {"case": case_id},
        null=("consumed_at", "voided_at"),
    )


# --- the kill switch ------------------------------------------------------------------------


def kill_switch_set(*, engaged: bool, actor: str, reason: str = "") -> KillSwitch:
    """Engage or lift the kill switch (approvers and superusers; the API/admin check the role).

    Engaged: the gate approves nothing by itself, no person may approve, and the Executor
    starts no step (a running step finishes; the run then pauses or rolls back as the policy
    says, and the case parks saying why). Lifting resumes nothing. Every flip goes on the
    timeline of each affected case (at the gate or executing) and emits
    evt.gate.kill_switch.v1. Flipping to the state it is in only records nothing.
    """
    if engaged and not (reason or "").strip():
        raise CommentRequired("Say why the kill switch is engaged (reason).")
    with transaction.atomic():
        # FOR UPDATE: a step claim holds this row FOR SHARE, so no step starts after this commits.
        switch = KillSwitch.objects.select_for_update().get_or_create(pk=1)[0]
        if switch.engaged == engaged:
            return switch
        switch.engaged, switch.reason = engaged, reason
        switch.changed_by, switch.changed_at = actor, timezone.now()
        switch.save()
        affected = list(
            OpsCase.objects.filter(state__in=(wf.WAIT_GATE, wf.EXECUTING)).order_by("created_at")
        )
        word = "engaged" if engaged else "lifted"
        for case in affected:
            timeline_note(
                case,
                event=f"kill_switch_{word}",
                actor=actor,
                reason=reason or f"kill switch {word}",
            )
        KillSwitchFlip.objects.create(
            engaged=engaged, reason=reason, actor=actor, affected_cases=len(affected)
        )
        KillSwitchFlipped(
            case_id="",
            engaged=engaged,
            reason=reason,
            actor=actor,
            affected_cases=[str(c.pk) for c in affected],
        ).emit()
        transaction.on_commit(lambda: metrics.kill_switch_flips_total.labels(to=word).inc())
    return switch


def autopilot_set(*, environment: str, mode: str, actor: str) -> GatePolicy:
    """Set how far the loop runs unattended in `environment` (approvers and superusers; the
    caller checks the role): a new policy version with only that changed, its comment saying
    so. Setting the mode it has records nothing. Raises BadRequest for an unknown environment
    or mode."""
    if mode not in wf.AUTOPILOT_MODES:
        raise BadRequest(f"autopilot must be one of {', '.join(wf.AUTOPILOT_MODES)}.")
    with transaction.atomic():
        list(GatePolicy.objects.select_for_update().order_by("-version")[:1])
        policy = selectors.policy_in_force()
        environments = policy.document.get("environments", {})
        if environment not in environments:
            raise BadRequest(f"The policy names no environment {environment!r}.")
        before = policy.as_policy().autopilot(environment)
        if before == mode:
            return policy
        rules = {**environments[environment], "autopilot": mode}
        document = {**policy.document, "environments": {**environments, environment: rules}}
        return policy_save(
            document=document,
            cedar=policy.cedar,
            actor=actor,
            source=f"admin:{actor}",
            comment=f"autopilot of {environment}: {before} → {mode}",
        )


def policy_seed_from_file(*, actor: str = SYSTEM_ACTOR) -> GatePolicy:
    """Store config/gate-policy.yaml as a new version unless that exact file is already the
    latest file-seeded version (so admin edits survive restarts until the file changes)."""
    document, digest = selectors.policy_file()
    source = f"file:{digest}"
    with transaction.atomic():
        latest_seed = (
            GatePolicy.objects.filter(source__startswith="file:").order_by("-version").first()
        )
        if latest_seed is not None and latest_seed.source == source:
            return GatePolicy.objects.order_by("-version").first()
        cedar = document.pop("cedar", "") or ""
        return policy_save(
            document=document,
            cedar=cedar,
            actor=actor,
            source=source,
            comment="seeded from config/gate-policy.yaml",
        )


def policy_save(
    *, document: dict, cedar: str, actor: str, source: str = "", comment: str = ""
) -> GatePolicy:
    """Add a policy version (the new policy in force). Raises BadRequest if it is invalid."""
    problems = validate_policy_document(document, cedar)
    if problems:
        raise BadRequest("The gate policy is invalid.", errors=problems)
    with transaction.atomic():
        # Serialize concurrent saves on the newest row so versions stay dense and unique.
        list(GatePolicy.objects.select_for_update().order_by("-version")[:1])
        top = GatePolicy.objects.aggregate(top=Max("version"))["top"] or 0
        return GatePolicy.objects.create(
            version=top + 1,
            document=document,
            cedar=cedar,
            source=source or f"admin:{actor}",
            comment=comment,
            created_by=actor,
        )


def _check_version(case, if_match: int | None) -> None:
    if if_match is not None and if_match != case.version:
        conflict_total.labels(kind="stale").inc()
        raise StaleVersion(
            f"Case is at version {case.version}, not {if_match}.", current_version=case.version
        )


def _plan_at_gate(case) -> PlanProposed:
    if case.state != wf.WAIT_GATE:
        raise NotAtGate(
            f"The case is in {case.state}, not WAIT_GATE.",
            state=case.state,
            allowed_events=wf.allowed_events(case.state),
        )
    plan = latest_plan(case.pk)
    if plan is None:
        raise NotAtGate("The case has no plan.", state=case.state)
    if selectors.live_approval(case) is not None:
        raise AlreadyDecided(
            f"Plan revision {plan.revision} is already approved.", revision=plan.revision
        )
    return plan


def _pending(plan: PlanProposed) -> GateDecision:
    decision = selectors.latest_decision(plan)
    # A plan the blast radius holds back (deferred) may be approved by a person too: the cap
    # bounds what runs unattended, not what people decide.
    if decision is None or decision.decision not in (NEEDS_HUMAN, DEFERRED):
        raise NoPendingApproval(
            f"Plan revision {plan.revision} is not waiting for a human decision; "
            "POST /gate/eval first.",
            latest_decision=decision.decision if decision else None,
        )
    return decision


def _still_deferred(plan: PlanProposed) -> bool:
    latest = selectors.latest_decision(plan)
    return latest is not None and latest.decision == DEFERRED


def _facts(
    plan: PlanProposed, *, kill_switch: bool = False, automated_in_flight: int = 0
) -> PlanFacts:
    spec = plan.spec
    target = spec.get("target", {})
    touched = targets.plan_targets(spec)  # what the steps touch, not the case's label
    return PlanFacts(
        environment=target.get("environment", ""),
        service=target.get("service", ""),
        risk=plan.risk_score,
        template=plan.template,
        actions=touched.actions,
        namespaces=touched.namespaces,
        hosts=touched.hosts,
        scripts=touched.scripts,
        requester=plan.created_by,
        kill_switch=kill_switch,
        automated_in_flight=automated_in_flight,
    )


def _decide(
    case,
    plan,
    outcome: str,
    reasons: list[str],
    *,
    actor: str,
    policy_version: int | None,
    kind: str,
    user=None,
    latency_ms: float = 0.0,
    comment: str = "",
) -> GateDecision:
    decision = rows.insert(
        GateDecision(
            case=case,
            plan=plan,
            decision=outcome,
            reasons=reasons,
            policy_version=policy_version,
            risk=plan.risk_score,
            latency_ms=latency_ms,
            actor=actor,
            decided_by=user if getattr(user, "is_authenticated", False) else None,
            kind=kind,
            comment=comment,
        )
    )
    approval = None
    if outcome == APPROVED:
        approval = rows.insert(
            PlanApproved(
                case=case,
                plan=plan,
                decision=decision,
                approved_by=actor,
                case_version=case.version,
                policy_version=policy_version,
            )
        )
    event = GateDecided(
        case_id=str(case.pk),
        plan_id=str(plan.pk),
        revision=plan.revision,
        decision_id=str(decision.pk),
        decision=outcome,
        reasons=reasons,
        policy_version=policy_version,
        risk=plan.risk_score,
        actor=actor,
        kind=kind,
        approval_id=str(approval.pk) if approval else "",
    )
    timeline_note(
        case, event="gate_decision", actor=actor, reason="; ".join(reasons), data=event.to_data()
    )
    if approval is not None:
        PlanApprovedEvent(
            case_id=str(case.pk),
            plan_id=str(plan.pk),
            revision=plan.revision,
            decision_id=str(decision.pk),
            approval_id=str(approval.pk),
            approved_by=actor,
            policy_version=policy_version,
            case_version=case.version,
        ).emit()
    event.emit()
    transaction.on_commit(
        lambda: metrics.gate_decisions_total.labels(decision=outcome, kind=kind).inc()
    )
    return decision


def gate_release_deferred(*, service: str, environment: str) -> GateDecision | None:
    """A run of `service` in `environment` ended: judge again the oldest case the blast
    radius held back (its latest decision is deferred), if any."""
    case = selectors.oldest_deferred(service, environment)
    if case is None:
        return None
    return gate_eval(case_id=case.pk, actor=SYSTEM_ACTOR, case_version=case.version)


def gate_release_all_deferred() -> int:
    """The periodic safety net: judge again every deferred case (a release event lost in a
    crash, or a policy that raised the cap)."""
    released = 0
    for case in selectors.deferred_cases():
        decision = gate_eval(case_id=case.pk, actor=SYSTEM_ACTOR, case_version=case.version)
        if decision is not None and decision.decision != DEFERRED:
            released += 1
    return released
