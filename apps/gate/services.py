"""Gatekeeper use cases: evaluate a plan, human approve/reject, expire pending approvals,
and version the policy. Each decision is one transaction: gate_decision + timeline + events
(+ plan_approved, or the gate_rejected transition)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from aiops.problems import BadRequest
from apps.cases import events
from apps.cases import workflow as wf
from apps.cases.services import fire, lock_case, timeline_note
from apps.gate import metrics, selectors
from apps.gate.exceptions import (
    AlreadyDecided,
    CommentRequired,
    FourEyesViolation,
    NoPendingApproval,
    NotAtGate,
)
from apps.gate.models import GateDecision, GatePolicy, PlanApproved
from apps.gate.policy import APPROVED, NEEDS_HUMAN, REJECTED, PlanFacts, evaluate
from apps.gate.policy import validate_document as validate_policy_document
from apps.planner.models import PlanProposed
from apps.planner.selectors import latest_plan

SYSTEM_ACTOR = "system:gate"


def gate_eval(*, case_id, actor: str, now: datetime | None = None) -> GateDecision:
    """Judge the case's latest plan against the policy in force.

    approved → plan_approved + evt.plan.approved.v1 (the Orchestrator then fires
    gate_approved); rejected → gate_rejected (the case parks with the reasons); needs_human →
    the case stays in WAIT_GATE. Every outcome: gate_decision, a timeline row and
    evt.gate.decision.v1. Raises CaseNotFound (404), NotAtGate / AlreadyDecided (409).
    """
    started = time.perf_counter()
    with transaction.atomic():
        case = lock_case(case_id)
        plan = _plan_at_gate(case)
        policy = selectors.policy_in_force()
        verdict = evaluate(_facts(plan), policy.as_policy(), now or timezone.now())
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


def gate_approve(*, case_id, actor: str, comment: str = "") -> GateDecision:
    """A human approves a plan that needs one. With four-eyes on for the plan's environment the
    approver must not be its requester. Raises FourEyesViolation (403), NotAtGate /
    AlreadyDecided / NoPendingApproval (409)."""
    with transaction.atomic():
        case = lock_case(case_id)
        plan = _plan_at_gate(case)
        _pending(plan)
        policy = selectors.policy_in_force()
        environment = plan.spec["target"]["environment"]
        if policy.as_policy().four_eyes(environment) and actor == plan.created_by:
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
            policy_version=policy.version,
            comment=comment,
            kind="human",
        )


def gate_reject(*, case_id, actor: str, comment: str) -> GateDecision:
    """A human rejects a plan that needs a decision; the case parks with the comment."""
    if not (comment or "").strip():
        raise CommentRequired("Say why the plan is rejected (comment).")
    with transaction.atomic():
        case = lock_case(case_id)
        plan = _plan_at_gate(case)
        _pending(plan)
        policy = selectors.policy_in_force()
        return _decide(
            case,
            plan,
            REJECTED,
            [f"rejected by {actor}: {comment}"],
            actor=actor,
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


def _plan_at_gate(case) -> PlanProposed:
    if case.state != wf.WAIT_GATE:
        raise NotAtGate(
            f"The case is in {case.state}, not WAIT_GATE.",
            state=case.state,
            allowed_events=wf.allowed_events(case.state),
        )
    plan = latest_plan(case.pk)
    if PlanApproved.objects.filter(plan=plan).exists():
        raise AlreadyDecided(
            f"Plan revision {plan.revision} is already approved.", revision=plan.revision
        )
    return plan


def _pending(plan: PlanProposed) -> GateDecision:
    decision = selectors.latest_decision(plan)
    if decision is None or decision.decision != NEEDS_HUMAN:
        raise NoPendingApproval(
            f"Plan revision {plan.revision} is not waiting for a human decision; "
            "POST /gate/eval first.",
            latest_decision=decision.decision if decision else None,
        )
    return decision


def _facts(plan: PlanProposed) -> PlanFacts:
    target = plan.spec.get("target", {})
    return PlanFacts(
        environment=target.get("environment", ""),
        service=target.get("service", ""),
        risk=plan.risk_score,
        template=plan.template,
        actions=tuple(
            sorted({f"{s['adapter']}.{s['action']}" for s in plan.spec.get("steps", [])})
        ),
        requester=plan.created_by,
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
    latency_ms: float = 0.0,
    comment: str = "",
) -> GateDecision:
    decision = GateDecision.objects.create(
        case=case,
        plan=plan,
        decision=outcome,
        reasons=reasons,
        policy_version=policy_version,
        risk=plan.risk_score,
        latency_ms=latency_ms,
        actor=actor,
        comment=comment,
    )
    data = {
        "case_id": str(case.pk),
        "plan_id": str(plan.pk),
        "revision": plan.revision,
        "decision_id": str(decision.pk),
        "decision": outcome,
        "reasons": reasons,
        "policy_version": policy_version,
        "risk": plan.risk_score,
        "actor": actor,
        "kind": kind,
    }
    timeline_note(case, event="gate_decision", actor=actor, reason="; ".join(reasons), data=data)
    if outcome == APPROVED:
        PlanApproved.objects.create(case=case, plan=plan, decision=decision, approved_by=actor)
        events.emit(
            type=events.PLAN_APPROVED,
            subject=str(case.pk),
            data={**data, "approved_by": actor, "reason": "; ".join(reasons)},
        )
    elif outcome == REJECTED:
        fire(case, "gate_rejected", actor=actor, reason="; ".join(reasons), data=data)
    events.emit(type=events.GATE_DECISION, subject=str(case.pk), data=data)
    transaction.on_commit(
        lambda: metrics.gate_decisions_total.labels(decision=outcome, kind=kind).inc()
    )
    return decision
