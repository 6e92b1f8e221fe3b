"""Test data through the front door: cases are driven by the services and the real
subscribers, never by inserting rows.

`deliver_outbox()` is the relay without the broker: it hands every committed event to each
of its subscribers in this process (the same `apply_event`, inbox and all), in outbox
order, until nothing is left undelivered. Types in `skip` are marked delivered without
being applied — the stand-in for "that module is not running", so a test can take over a
stage by hand.
"""

from __future__ import annotations

import contextlib
import copy

from django.db import transaction
from django.utils import timezone

from apps.cases import events, relay
from apps.cases import workflow as wf
from apps.cases.models import OpsCase, Outbox
from apps.cases.services import case_create, case_transition

EXEC_START = "cmd.exec.start.v1"
VERIFY_SCHEDULE = "cmd.verify.schedule.v1"
# What the Planner's templates touch in the test environments (a template's namespace is
# its environment's name): for test policies written inline.
TEMPLATE_TARGETS = {
    "actions": ["echo.*", "kubernetes.*"],
    "kubernetes_namespaces": ["dev", "staging", "prod"],
}


def deliver_outbox(*, skip: frozenset[str] | set[str] = frozenset(), limit: int = 1000) -> int:
    """Apply every unpublished event to its subscribers here; return how many were handled."""
    handled = 0
    while handled < limit:
        # Not yet delivered, rather than not yet published: a worker's relay may have
        # published a row whose subscribers have not run yet; applying it here as well is
        # safe (the inbox keeps one application) and waits for the worker's if it is midway.
        row = Outbox.objects.filter(delivered_at__isnull=True).order_by("seq").first()
        if row is None:
            return handled
        if row.type not in skip:
            for sub in events.subscribers_for(row.type, row.data):
                relay.apply_event(sub.name, str(row.event_id))
        now = timezone.now()
        Outbox.objects.filter(seq=row.seq).update(published_at=now, delivered_at=now)
        handled += 1
    raise AssertionError(f"the outbox did not drain within {limit} events")


def run_queued_steps() -> int:
    """Run every queued step attempt in this process (the runner, as a worker would)."""
    from apps.executor import runner
    from apps.executor.models import ExecStep

    ran = 0
    while True:
        step = ExecStep.objects.filter(status=ExecStep.QUEUED).order_by("id").first()
        if step is None:
            return ran
        runner.execute(str(step.message_id), worker="test")
        ran += 1


def observe(service: str, *metrics: str) -> None:
    """Evidence the service's metrics exist: one metric_1m minute each, a day old — outside
    any verification window and baseline, but enough for the Planner's risk score not to
    count checks on them as watching series never ingested (a plan resting only on those
    waits for a person)."""
    from datetime import timedelta

    from apps.sensor.points import Point, floor_minute
    from apps.sensor.services import metrics_upsert

    minute = floor_minute(timezone.now() - timedelta(days=1))
    metrics_upsert(points=[Point(minute, service, metric, {}, 0.0) for metric in metrics])


def new_case(user, **fields) -> OpsCase:
    values = {"title": "checkout p95 up", "service": "checkout", "environment": "staging"}
    values.update(fields)
    return case_create(actor=user, **values)


def drive_to_planning(case, user) -> OpsCase:
    """NEW → ANALYZING (a person) → PLANNING (the Analyst and the Orchestrator; where autopilot
    is manual the case stays in ANALYZING, where a plan may be proposed too)."""
    if case.state == wf.NEW:
        case_transition(case_id=case.pk, event="start_analysis", actor=user.get_username())
    deliver_outbox()
    case = OpsCase.objects.get(pk=case.pk)  # an FSM-protected state cannot be refreshed
    assert case.state in (wf.ANALYZING, wf.PLANNING), case.state
    return case


def propose(case, user, document: dict):
    """A hand-written plan by `user`, aimed at the case's own service and environment."""
    from apps.planner.services import plan_generate

    document = copy.deepcopy(document)
    document["spec"]["target"].update(environment=case.environment, service=case.service)
    return plan_generate(
        case_id=case.pk, actor=user.get_username(), document=document, requested_by=user
    )


def drive_to_gate_decision(case, user, document: dict, *, skip=frozenset()) -> OpsCase:
    """Plan → WAIT_GATE → the gate's decision (a low-risk plan in dev/staging is approved and
    the case moves to EXECUTING). Where autopilot is manual the user does each stage, as a
    person would."""
    from apps.gate.services import gate_eval

    case = drive_to_planning(case, user)
    propose(case, user, document)
    deliver_outbox(skip=skip)
    case = OpsCase.objects.get(pk=case.pk)
    if case.state == wf.PLANNING and not case.gate_decisions.exists():
        # manual: nobody moves it on but a person
        case_transition(case_id=case.pk, event="plan_ready", actor=user.get_username())
        gate_eval(case_id=case.pk, actor=user.get_username())
        deliver_outbox(skip=skip)
    return OpsCase.objects.get(pk=case.pk)


def approve(case, *, skip=frozenset()) -> OpsCase:
    """A plan waiting for a human gets one: an approver who did not request it."""
    from django.contrib.auth.models import Group, User

    from apps.gate.services import gate_approve

    approver, created = User.objects.get_or_create(username="test-approver")
    if created:
        approver.groups.add(Group.objects.get_or_create(name="approver")[0])
    gate_approve(case_id=case.pk, user=approver, actor=approver.username)
    deliver_outbox(skip=skip)
    return OpsCase.objects.get(pk=case.pk)


def drive_to_executing(case, user, document: dict) -> OpsCase:
    """… → EXECUTING, with the Executor's start left to the test (POST /adapter/exec or a
    worker)."""
    case = drive_to_gate_decision(case, user, document, skip={EXEC_START})
    if case.state == wf.WAIT_GATE:  # the policy wants a human: one approves
        case = approve(case, skip={EXEC_START})
    assert case.state == wf.EXECUTING, (case.state, _last_reasons(case))
    return case


def drive_to_verifying(case, user, document: dict) -> OpsCase:
    """… → EXECUTING → the run carried out here → VERIFYING, with the Verifier's schedule left
    to the test."""
    case = drive_to_gate_decision(case, user, document, skip={VERIFY_SCHEDULE})
    if case.state == wf.WAIT_GATE:
        case = approve(case, skip={VERIFY_SCHEDULE})
    if case.state == wf.EXECUTING and not case.exec_runs.exists():
        from apps.executor.services import exec_start

        exec_start(case_id=case.pk, actor=user.get_username())  # manual: a person starts it
    while run_queued_steps():
        deliver_outbox(skip={VERIFY_SCHEDULE})
    deliver_outbox(skip={VERIFY_SCHEDULE})
    case = OpsCase.objects.get(pk=case.pk)
    assert case.state == wf.VERIFYING, (case.state, _last_reasons(case))
    return case


def _last_reasons(case) -> list[str]:
    return list(case.timeline.order_by("-id").values_list("reason", flat=True)[:5])


@transaction.atomic
def set_autopilot(environment: str, mode: str, *, actor: str = "test", **rules) -> None:
    """A new policy version with `environment`'s autopilot set to `mode` (and, when `rules`
    are given, those rules instead of the environment's current ones)."""
    from apps.gate import selectors, services

    policy = selectors.policy_in_force()
    document = {**policy.document}
    environments = {name: dict(rules) for name, rules in document["environments"].items()}
    if rules:
        environments[environment] = dict(rules)
    environments.setdefault(environment, {})["autopilot"] = mode
    document["environments"] = environments
    services.policy_save(document=document, cedar=policy.cedar, actor=actor)


@transaction.atomic
def set_targets(environment: str, *, actor: str = "test", **targets) -> None:
    """A new policy version in which `environment` may touch `targets` (apps.gate.targets:
    actions, kubernetes_namespaces, http_hosts, scripts) and nothing else."""
    from apps.gate import selectors, services

    policy = selectors.policy_in_force()
    environments = {name: dict(rules) for name, rules in policy.document["environments"].items()}
    environments.setdefault(environment, {})["targets"] = targets
    document = {**policy.document, "environments": environments}
    services.policy_save(document=document, cedar=policy.cedar, actor=actor)


@contextlib.contextmanager
def autopilot(environment: str, mode: str):
    """`environment`'s autopilot is `mode` inside the block; the policy before is restored
    (as a new version) after it — for benches that share one database."""
    from apps.gate import selectors, services

    before = selectors.policy_in_force()
    set_autopilot(environment, mode)
    try:
        yield
    finally:
        services.policy_save(document=before.document, cedar=before.cedar, actor="test")
