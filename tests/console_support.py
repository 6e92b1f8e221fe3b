"""Shared by the console's tests: a policy without windows, staff users with roles, and cases
driven to the gate or through verification by the services (tests/factories.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.gate import services as gate_services
from apps.sensor.points import Point, floor_minute
from apps.sensor.services import metrics_upsert
from apps.verifier.services import verify_case
from tests import factories
from tests.conftest import make_user, plan_step, sample_plan

# No change windows or freezes (nothing may depend on the day the suite runs); manual
# autopilot, so each test moves its cases itself.
POLICY = {
    "approval_ttl_minutes": 240,
    "environments": {
        "staging": {
            "autopilot": "manual",
            "auto_approve_max": 60,
            "reject_min": 95,
            "four_eyes": False,
            "targets": factories.TEMPLATE_TARGETS,
        },
        "prod": {
            "autopilot": "manual",
            "auto_approve_max": 0,
            "reject_min": 95,
            "four_eyes": True,
            "targets": factories.TEMPLATE_TARGETS,
        },
    },
}


def seed_policy():
    return gate_services.policy_save(document=POLICY, cedar="", actor="test")


def staff(username: str, *roles: str):
    user = make_user(username, *roles)
    user.is_staff = True
    user.save()
    return user


def case_at_gate(requester, environment: str = "prod", document: dict | None = None):
    """A case in WAIT_GATE whose plan (written by `requester`) waits for a person."""
    case = factories.new_case(requester, environment=environment)
    case = factories.drive_to_gate_decision(case, requester, document or sample_plan())
    assert case.state == "WAIT_GATE", case.state
    return case


def verified_case(requester, *, steps: int = 1, checks: int = 1, notes: int = 0):
    """A staging case through its run (`steps` echo steps) and verification (`checks`
    checks over healthy metrics), with `notes` extra timeline rows."""
    from apps.cases.services import lock_case, timeline_note

    document = sample_plan(
        steps=[plan_step(f"step-{i}", params={"message": f"hello {i}"}) for i in range(steps)],
        verify={
            "delay_s": 0,
            "window_s": 300,
            "checks": [
                {
                    "name": f"p95-{i}",
                    "metric": "http_p95_ms",
                    "aggregate": "p95",
                    "operator": "<",
                    "threshold": 300 + i,
                    "for_minutes": 1,
                }
                for i in range(checks)
            ],
        },
    )
    case = factories.drive_to_verifying(factories.new_case(requester), requester, document)
    now = floor_minute(timezone.now())
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), case.service, "http_p95_ms", {}, 150.0 + m)
            for m in range(1, 7)
        ]
    )
    verify_case(case_id=str(case.pk))
    factories.deliver_outbox()
    from django.db import transaction

    with transaction.atomic():
        locked = lock_case(case.pk)
        for i in range(notes):
            timeline_note(locked, event="operator_note", actor="test", reason=f"note {i}")
    return case
