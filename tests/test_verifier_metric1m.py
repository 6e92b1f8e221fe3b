"""The Verifier over metric_1m: checkpoints, evt.verify.result.v1 and the case's outcome.

Each test seeds metric_1m, drives a case to VERIFYING, runs the verification at a chosen
moment, then delivers the result event to the Orchestrator's real subscriber."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.cases import relay
from apps.cases.exceptions import GuardFailed
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from apps.cases.services import case_transition, fire, lock_case
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
from apps.verifier import services
from apps.verifier.models import VerifyCheckpoint
from tests.conftest import drive_to_verifying, sample_plan
from tests.support import purge_broker

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(second=0, microsecond=0) + timedelta(seconds=30)


def check(**overrides) -> dict:
    fields = {
        "name": "p95-latency",
        "metric": "http_p95_ms",
        "aggregate": "p95",
        "operator": "<",
        "threshold": 300,
        "for_minutes": 1,
    }
    fields.update(overrides)
    return fields


def plan(*checks, window_s=300) -> dict:
    return sample_plan(verify={"delay_s": 0, "window_s": window_s, "checks": list(checks)})


def seed(values, *, metric="http_p95_ms", end=NOW, labels=None, service="checkout"):
    """Values for the minutes before `end`'s minute, oldest first (None = no point)."""
    last = end.replace(second=0, microsecond=0) - timedelta(minutes=1)
    points = [
        Point(
            minute=last - timedelta(minutes=len(values) - 1 - i),
            service=service,
            metric=metric,
            labels=labels or {},
            value=value,
        )
        for i, value in enumerate(values)
        if value is not None
    ]
    metrics_upsert(points=points)


def verify(case, now=NOW) -> dict:
    return services.verify_case(case_id=str(case.pk), now=now)


def deliver_result(case) -> OpsCase:
    """Hand the verify result event to the Orchestrator's subscriber, as the relay would."""
    row = Outbox.objects.filter(subject=str(case.pk), type="evt.verify.result.v1").latest("seq")
    relay.apply_event("orchestrator.verify_result", str(row.event_id))
    return OpsCase.objects.get(pk=case.pk)


def test_healthy_metrics_pass_and_close_the_case(new_case):
    seed([200, 210, 190, 220, 205])
    case = drive_to_verifying(new_case(), document=plan(check()))
    result = verify(case)
    assert result["passed"] is True
    checkpoint = VerifyCheckpoint.objects.get(case=case)
    assert checkpoint.result == "pass"
    assert checkpoint.observed == 220
    assert checkpoint.threshold == 300
    assert checkpoint.source == "metric_1m"
    assert checkpoint.window_end - checkpoint.window_start == timedelta(minutes=5)
    assert checkpoint.sentence == "p95 latency 220 ms < 300 ms over 5 minutes"
    assert deliver_result(case).state == "CLOSED"


def test_breach_fails_and_parks_with_a_reason_naming_the_check(new_case):
    seed([200, 200, 412, 405, 398])
    case = drive_to_verifying(new_case(), document=plan(check(for_minutes=3)))
    result = verify(case)
    assert result["passed"] is False
    assert "check 'p95-latency' fail" in result["summary"]
    sentence = VerifyCheckpoint.objects.get(case=case).sentence
    assert sentence == "p95 latency 412 ms > 300 ms for 3 of 5 minutes"
    assert deliver_result(case).state == "PARKED"
    parked = CaseTimeline.objects.get(case=case, event="verify_failed")
    assert parked.to_state == "PARKED"
    assert "p95 latency 412 ms > 300 ms for 3 of 5 minutes" in parked.reason


def test_no_data_is_inconclusive_and_parks(new_case):
    case = drive_to_verifying(new_case(), document=plan(check()))
    result = verify(case)
    assert result["passed"] is False
    assert result["summary"].startswith("Verification inconclusive")
    assert VerifyCheckpoint.objects.get(case=case).result == "inconclusive"
    assert deliver_result(case).state == "PARKED"


def test_no_data_policy_pass_lets_the_case_close(new_case):
    case = drive_to_verifying(new_case(), document=plan(check(no_data="pass")))
    assert verify(case)["passed"] is True
    assert deliver_result(case).state == "CLOSED"


def test_one_bad_minute_does_not_fail_a_three_minute_check(new_case):
    seed([200, 200, 900, 200, 200])
    case = drive_to_verifying(new_case(), document=plan(check(aggregate="max", for_minutes=3)))
    assert verify(case)["passed"] is True
    checkpoint = VerifyCheckpoint.objects.get(case=case)
    assert checkpoint.minutes_breached == 1
    assert "under the 3 consecutive minutes needed to fail" in checkpoint.sentence
    assert deliver_result(case).state == "CLOSED"


def test_label_filter_selects_the_series(new_case):
    seed([900] * 5, labels={"route": "/admin"})
    seed([100] * 5, labels={"route": "/cart"})
    case = drive_to_verifying(new_case(), document=plan(check(labels={"route": "/cart"})))
    assert verify(case)["passed"] is True


def test_other_services_metrics_are_not_read(new_case):
    seed([900] * 5, service="payments")
    case = drive_to_verifying(new_case(), document=plan(check()))
    assert verify(case)["passed"] is False
    assert VerifyCheckpoint.objects.get(case=case).result == "inconclusive"


def test_baseline_comparison_with_the_window_before_the_change(new_case):
    case = drive_to_verifying(
        new_case(), document=plan(check(threshold=1000, baseline={"max_increase_pct": 20}))
    )
    change = CaseTimeline.objects.get(case=case, event="gate_approved").created_at
    seed([200] * 5, end=change)  # the five minutes before the change
    later = change + timedelta(minutes=20)
    seed([260] * 5, end=later)
    result = verify(case, now=later)
    checkpoint = VerifyCheckpoint.objects.get(case=case)
    assert checkpoint.result == "fail"
    assert checkpoint.baseline == 200
    assert checkpoint.change_pct == 30
    assert "+30% vs baseline 200 ms (max +20%)" in checkpoint.sentence
    assert result["passed"] is False


def test_dry_run_check_fails_without_deciding(new_case):
    seed([200] * 5)
    strict = check(name="strict-latency", threshold=100, dry_run=True)
    case = drive_to_verifying(new_case(), document=plan(check(), strict))
    result = verify(case)
    assert result["passed"] is True
    shadow = VerifyCheckpoint.objects.get(case=case, check_name="strict-latency")
    assert shadow.result == "fail"
    assert shadow.dry_run is True
    assert shadow.sentence.startswith("[dry run] strict latency (p95) 200 ms > 100 ms")
    assert deliver_result(case).state == "CLOSED"


def test_result_event_carries_passed_summary_and_checkpoints(new_case):
    seed([200] * 5)
    case = drive_to_verifying(new_case(), document=plan(check(), check(name="errors", threshold=1)))
    verify(case)
    event = Outbox.objects.get(subject=str(case.pk), type="evt.verify.result.v1")
    assert event.data["passed"] is False
    assert "check 'errors' fail" in event.data["summary"]
    assert [c["name"] for c in event.data["checkpoints"]] == ["p95-latency", "errors"]
    assert [c["result"] for c in event.data["checkpoints"]] == ["pass", "fail"]


def test_a_second_run_for_the_same_entry_writes_nothing(new_case):
    seed([200] * 5)
    case = drive_to_verifying(new_case(), document=plan(check()))
    verify(case)
    assert verify(case) is None
    assert VerifyCheckpoint.objects.filter(case=case).count() == 1
    assert Outbox.objects.filter(subject=str(case.pk), type="evt.verify.result.v1").count() == 1


def test_a_case_that_left_verifying_is_not_verified(new_case):
    seed([200] * 5)
    case = drive_to_verifying(new_case(), document=plan(check()))
    case_transition(case_id=case.pk, event="park", actor="olga", reason="hands off")
    assert verify(case) is None
    assert not VerifyCheckpoint.objects.filter(case=case).exists()


def test_verify_pass_guard_refuses_without_a_passing_verification(new_case):
    seed([900] * 5)
    case = drive_to_verifying(new_case(), document=plan(check()))

    def verify_pass():
        with transaction.atomic():
            fire(lock_case(case.pk), "verify_pass", actor="system:orchestrator")

    with pytest.raises(GuardFailed, match="no verification has run"):
        verify_pass()
    verify(case)
    with pytest.raises(GuardFailed, match="check 'p95-latency' fail"):
        verify_pass()


def test_defaults_come_from_settings_when_the_plan_leaves_them_out(settings):
    settings.VERIFY_DEFAULT_DELAY_S = 7
    settings.VERIFY_DEFAULT_WINDOW_S = 600
    spec = services.verify_spec(sample_plan(verify={"checks": [check()]}))
    assert (spec.delay_s, spec.window_s) == (7, 600)


def test_entering_verifying_schedules_the_verification(new_case):
    case = drive_to_verifying(new_case(), document=plan(check()))
    entered = Outbox.objects.get(subject=str(case.pk), type="cmd.verify.schedule.v1")
    assert relay.apply_event("verifier.schedule", str(entered.event_id)) == "applied"
    note = CaseTimeline.objects.get(case=case, event="verify_scheduled")
    assert note.data["delay_s"] == 0


def test_overdue_verification_is_found_by_the_sweep(new_case):
    case = drive_to_verifying(new_case(), document=plan(check()))
    later = timezone.now() + timedelta(hours=1)
    assert services.verifications_overdue(now=later) == [str(case.pk)]
    seed([200] * 5)
    verify(case)
    assert services.verifications_overdue(now=later) == []


def test_an_overdue_verification_is_kicked_again_at_doubling_intervals(new_case, settings):
    """Still overdue after a kick, it may be waiting in a busy queue: no kick every sweep."""
    from django.core.cache import cache

    cache.clear()
    drive_to_verifying(new_case(), document=plan(check()))
    base = settings.VERIFY_OVERDUE_S
    first = timezone.now() + timedelta(hours=1)
    kicks = []
    for offset in (0, 1, base - 1, base + 1, 3 * base - 1, 3 * base + 1, 3 * base + 2):
        kicks.append(services.verifications_kick_overdue(now=first + timedelta(seconds=offset)))
    purge_broker()
    assert kicks == [1, 0, 0, 1, 0, 1, 0]


def test_checkpoints_api_lists_the_verdicts(new_case, viewer_api):
    seed([200] * 5)
    case = drive_to_verifying(new_case(), document=plan(check()))
    verify(case)
    response = viewer_api.get(f"/verify/{case.pk}/checkpoints")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["check_name"] == "p95-latency"
    assert row["result"] == "pass"
    assert row["sentence"] == "p95 latency 200 ms < 300 ms over 5 minutes"


def test_checkpoints_api_404_for_unknown_case(viewer_api):
    response = viewer_api.get("/verify/6f1c2b7e-0000-4000-8000-000000000000/checkpoints")
    assert response.status_code == 404


def test_checkpoints_api_401_for_anonymous(anonymous_api, new_case):
    case = new_case()
    assert anonymous_api.get(f"/verify/{case.pk}/checkpoints").status_code == 401


def test_a_check_that_cannot_be_judged_never_reaches_the_verifier(new_case, operator):
    from apps.planner.exceptions import PlanInvalid
    from tests.factories import drive_to_planning, propose

    broken = {"name": "p95-latency", "metric": "http_p95_ms", "operator": "=<", "threshold": 1}
    case = drive_to_planning(new_case(), operator)
    with pytest.raises(PlanInvalid, match="'=<' is not one of"):
        propose(case, operator, plan(broken))
