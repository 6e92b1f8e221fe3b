"""Outcome metrics: apps.cases.outcomes.outcome_summary and the series on /metrics, from
cases driven through the services (their timelines are what is counted)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.cases.outcomes import outcome_summary
from apps.cases.services import verify_decide
from apps.executor.services import exec_start
from tests import factories
from tests.conftest import drive_to_executing, drive_to_verifying, plan_step, sample_plan
from tests.test_metrics import scrape, value
from tests.test_verifier_metric1m import check, deliver_result, plan, seed, verify
from tests.test_verify_fail_pause import on_verify_fail

pytestmark = pytest.mark.django_db


@pytest.fixture
def since():
    return timezone.now() - timedelta(minutes=1)


def verified(new_case, values):
    seed(values)
    case = drive_to_verifying(new_case(), document=plan(check()))
    verify(case)
    return deliver_result(case)


def test_a_passing_verification_counts_as_a_succeeded_change(new_case, since):
    assert verified(new_case, [200] * 5).state == "CLOSED"
    summary = outcome_summary(since)
    assert summary["changes"] == {"succeeded": 1, "failed": 0, "success_rate": 1.0}
    assert summary["parks_by_reason"] == {}


def test_a_failed_verification_counts_as_a_failed_change_parked_by_it(new_case, since):
    verified(new_case, [200] * 5)
    verified(new_case, [500] * 5)
    summary = outcome_summary(since)
    assert summary["changes"] == {"succeeded": 1, "failed": 1, "success_rate": 0.5}
    assert summary["parks_by_reason"] == {"verify_failed": 1}


def test_a_run_that_ran_its_rollback_steps_counts_as_a_rollback(new_case, since):
    document = sample_plan(steps=[plan_step("boom", params={"fail": True})])
    case = drive_to_executing(new_case(), document=document)
    exec_start(case_id=case.pk, actor="olga")
    while factories.run_queued_steps():
        factories.deliver_outbox()
    summary = outcome_summary(since)
    assert summary["rollbacks_total"] == 1
    assert summary["changes"]["failed"] == 1
    assert summary["parks_by_reason"] == {"exec_failed": 1}


def test_a_failed_verification_a_person_accepts_counts_as_an_override(new_case, since):
    on_verify_fail("staging", "pause")
    case = verified(new_case, [500] * 5)
    verify_decide(case_id=case.pk, decision="accept", actor="olga", reason="fine")
    summary = outcome_summary(since)
    assert summary["verify_overrides"] == 1
    assert summary["changes"]["failed"] == 1  # the verification failed all the same


def test_time_in_state_covers_every_state_a_case_left(new_case, since):
    verified(new_case, [200] * 5)
    times = outcome_summary(since)["time_in_state"]
    assert set(times) == {"NEW", "ANALYZING", "PLANNING", "WAIT_GATE", "EXECUTING", "VERIFYING"}
    assert all(t["transitions"] == 1 and t["max_s"] >= t["avg_s"] >= 0 for t in times.values())


def test_rows_before_since_are_not_counted(new_case):
    verified(new_case, [500] * 5)
    summary = outcome_summary(timezone.now() + timedelta(seconds=1))
    assert summary["changes"] == {"succeeded": 0, "failed": 0, "success_rate": None}
    assert summary["time_in_state"] == {} and summary["parks_by_reason"] == {}


def test_metrics_expose_the_outcome_gauges(client, new_case):
    verified(new_case, [200] * 5)
    verified(new_case, [500] * 5)
    samples = scrape(client)
    assert value(samples, "remediation_changes_24h", outcome="succeeded") == 1
    assert value(samples, "remediation_changes_24h", outcome="failed") == 1
    assert value(samples, "remediation_success_ratio_24h") == 0.5
    assert value(samples, "parks_24h", reason="verify_failed") == 1


def test_each_transition_observes_the_time_spent_in_the_state_it_leaves(
    client, new_case, django_capture_on_commit_callbacks
):
    before = value(scrape(client), "case_state_duration_seconds_count", state="VERIFYING")
    with django_capture_on_commit_callbacks(execute=True):
        verified(new_case, [200] * 5)
    after = value(scrape(client), "case_state_duration_seconds_count", state="VERIFYING")
    assert after - before == 1


def test_an_accepted_verification_counts_the_override_counter(
    client, new_case, django_capture_on_commit_callbacks
):
    on_verify_fail("staging", "pause")
    case = verified(new_case, [500] * 5)
    before = value(scrape(client), "verify_overrides_total")
    with django_capture_on_commit_callbacks(execute=True):
        verify_decide(case_id=case.pk, decision="accept", actor="olga")
    assert value(scrape(client), "verify_overrides_total") - before == 1
