"""Gatekeeper reads: approvals, decisions, the policy in force, pending human approvals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from aiops import rows as aiops_rows
from aiops.prepared import prepared
from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.gate import targets
from apps.gate.models import GateDecision, GatePolicy, KillSwitch, PlanApproved
from apps.gate.policy import Policy
from apps.planner.models import PlanProposed
from apps.planner.selectors import latest_plan


def live_approval(case) -> PlanApproved | None:
    """The unconsumed, unvoided approval of the case's latest plan revision given at the
    case's current version (what gate_approved needs), or None."""
    plan = latest_plan(case.pk)
    if plan is None:
        return None
    return _live_approval.first(plan.pk, case.version)


@prepared
def _live_approval(plan_id, case_version):
    return (
        PlanApproved.objects.filter(
            plan_id=plan_id,
            case_version=case_version,
            consumed_at__isnull=True,
            voided_at__isnull=True,
        )
        .select_related("plan")
        .order_by("pk")[:1]
    )


@prepared
def approval_to_consume(case_id, case_version):
    """The newest unconsumed, unvoided approval given at `case_version`, locked (FOR UPDATE
    of the approval and its plan), with its plan."""
    return (
        PlanApproved.objects.select_for_update()
        .select_related("plan")
        .filter(
            case_id=case_id,
            case_version=case_version,
            consumed_at__isnull=True,
            voided_at__isnull=True,
        )
        .order_by("-created_at")[:1]
    )


def kill_switch() -> KillSwitch:
    return _kill_switch.first() or KillSwitch(pk=1)


@prepared
def _kill_switch():
    return KillSwitch.objects.filter(pk=1)


def kill_switch_for_share() -> KillSwitch:
    """The switch, read FOR SHARE in the caller's transaction: flipping it (FOR UPDATE) waits
    until that transaction ends, so what the caller decided holds until it commits."""
    rows = list(KillSwitch.objects.raw("SELECT * FROM gate_kill_switch WHERE id = 1 FOR SHARE"))
    return rows[0] if rows else KillSwitch(pk=1)


def autopilot_for(environment: str) -> str:
    """How far the loop may run by itself in `environment` (registered with the Orchestrator)."""
    return rules_in_force().autopilot(environment)


def on_verify_fail_for(environment: str) -> str:
    """What a failed verification in `environment` does (registered with the Orchestrator)."""
    return rules_in_force().on_verify_fail(environment)


def target_violations(environment: str, spec) -> list[dict]:
    """What of the plan `spec` the policy in force does not let `environment` touch
    (registered as aiops.registry's target check for the Planner)."""
    allowance = rules_in_force().targets(environment)
    return targets.violations(targets.plan_touches(spec), allowance, environment)


def latest_decision(plan) -> GateDecision | None:
    return _latest_decision.first(plan.pk)


@prepared
def _latest_decision(plan_id):
    return GateDecision.objects.filter(plan_id=plan_id).order_by("-created_at")[:1]


@prepared
def _newest_policy():
    return GatePolicy.objects.order_by("-version")[:1]


def policy_in_force() -> GatePolicy:
    """The highest policy version; seeds version 1 from the policy file on an empty table."""
    policy = _newest_policy.first()
    if policy is not None:
        return policy
    from apps.gate.services import policy_seed_from_file

    try:
        with transaction.atomic():
            return policy_seed_from_file(actor="system:gate")
    except IntegrityError:  # seeded concurrently
        return GatePolicy.objects.order_by("-version").first()


# Parsed policies by (id, version, created_at). A stored version is never edited (a change
# adds one) and ids are never reused, so a key read from the table names one content.
_parsed: dict[tuple, Policy] = {}


def rules_in_force() -> Policy:
    """The policy in force, parsed. Each call reads the highest version's key (an index
    scan, no document), so a new version applies at once; its document is read and parsed
    once per process. Hot paths (a transition, a step claim) call this."""
    # Plain SQL: through the ORM, building this query cost more than running it.
    found = aiops_rows.run(
        f"SELECT id, version, created_at FROM {GatePolicy._meta.db_table} "  # noqa: S608
        "ORDER BY version DESC LIMIT 1",
        result=aiops_rows.ONE,
    )
    rules = _parsed.get(found) if found else None
    if rules is None:
        row = policy_in_force()
        rules = row.as_policy()
        _parsed.clear()  # only the newest is asked for again
        _parsed[(row.pk, row.version, row.created_at)] = rules
    return rules


def policy_file() -> tuple[dict, str]:
    """The parsed policy file and its sha256."""
    raw = Path(settings.GATE_POLICY_FILE).read_bytes()
    return yaml.safe_load(raw) or {}, hashlib.sha256(raw).hexdigest()


def pending_approvals():
    """Cases at the gate whose latest plan's latest decision is needs_human."""
    latest = GateDecision.objects.filter(case=OuterRef("pk")).order_by("-created_at")
    newest_plan = PlanProposed.objects.filter(case=OuterRef("pk")).order_by("-revision")
    return (
        OpsCase.objects.filter(state=wf.WAIT_GATE)
        .annotate(
            pending_decision=Subquery(latest.values("decision")[:1]),
            pending_decision_id=Subquery(latest.values("pk")[:1]),
            pending_since=Subquery(latest.values("created_at")[:1]),
            pending_plan_id=Subquery(latest.values("plan_id")[:1]),
            newest_plan_id=Subquery(newest_plan.values("pk")[:1]),
            pending_risk=Subquery(latest.values("risk")[:1]),
        )
        .filter(pending_decision=GateDecision.NEEDS_HUMAN)
        .order_by("pending_since")
    )


def pending_entries(*, limit: int | None = None) -> list[dict]:
    """Pending approvals with their decision and plan, oldest first, for the admin pages
    (three queries, however many)."""
    rows = [c for c in pending_approvals()[:limit] if c.pending_plan_id == c.newest_plan_id]
    decisions = GateDecision.objects.in_bulk([c.pending_decision_id for c in rows])
    plans = PlanProposed.objects.select_related("requested_by").in_bulk(
        [c.pending_plan_id for c in rows]
    )
    return [
        {
            "case": c,
            "decision": decisions[c.pending_decision_id],
            "plan": plans[c.pending_plan_id],
        }
        for c in rows
    ]


def autopilot_settings(*, depth: int = 200) -> list[dict]:
    """Each environment of the policy in force with its autopilot and four-eyes, and who set
    that autopilot and when: the oldest of the unbroken run of policy versions (of the last
    `depth`) that gave it that mode. One query."""
    policy_in_force()  # seeds version 1 on an empty table
    rows = list(
        GatePolicy.objects.order_by("-version").values_list(
            "version", "document", "created_by", "created_at"
        )[:depth]
    )
    policies = [(row, Policy.from_document(row[0], row[1], "")) for row in rows]
    newest = policies[0][1]
    settings_ = []
    for environment in sorted(newest.environments):
        mode = newest.autopilot(environment)
        setter = rows[0]
        for row, policy in policies[1:]:
            if policy.autopilot(environment) != mode:
                break
            setter = row
        settings_.append(
            {
                "environment": environment,
                "mode": mode,
                "four_eyes": newest.four_eyes(environment),
                "version": setter[0],
                "set_by": setter[2],
                "set_at": setter[3],
            }
        )
    return settings_


IN_FLIGHT = (wf.WAIT_GATE, wf.EXECUTING, wf.VERIFYING)


def lock_blast_radius(service: str, environment: str) -> None:
    """Serialize gate evaluations of one service and environment (caller's transaction)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"blast:{service}/{environment}"],
        )


def automated_in_flight(case, *, actor: str) -> int:
    """Other cases of this service and environment holding an approval the policy gave
    (`actor`) that is live or was consumed by a run still executing or verifying."""
    return len(_in_flight(actor, case.service, case.environment, case.pk))


@prepared
def _in_flight(actor, service, environment, case_id):
    return (
        PlanApproved.objects.filter(
            approved_by=actor,
            voided_at__isnull=True,
            case__service=service,
            case__environment=environment,
            case__state__in=IN_FLIGHT,
        )
        .exclude(case_id=case_id)
        .values_list("case_id", flat=True)
        .distinct()
        .order_by()
    )


def _deferred():
    latest = GateDecision.objects.filter(case=OuterRef("pk")).order_by("-created_at")
    return (
        OpsCase.objects.filter(state=wf.WAIT_GATE)
        .annotate(last_decision=Subquery(latest.values("decision")[:1]))
        .filter(last_decision=GateDecision.DEFERRED)
    )


def oldest_deferred(service: str, environment: str):
    return _oldest_deferred.first(service, environment)


@prepared
def _oldest_deferred(service, environment):
    return _deferred().filter(service=service, environment=environment).order_by("updated_at")[:1]


def deferred_cases():
    return list(_deferred().order_by("updated_at")[:500])
