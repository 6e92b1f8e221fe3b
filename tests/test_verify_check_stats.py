"""Dry-run checks (`mode: dry_run`): judged and recorded, never deciding, and counted by
GET /verify/checks/stats so a team knows when a check is ready to enforce."""

import pytest
from django.test import Client

from apps.verifier.models import VerifyCheckpoint
from tests.conftest import drive_to_verifying, make_user
from tests.test_verifier_metric1m import check, deliver_result, plan, seed, verify

pytestmark = pytest.mark.django_db


def verified(new_case, *checks):
    case = drive_to_verifying(new_case(), document=plan(*checks))
    verify(case)
    return case


def test_a_mode_dry_run_check_is_recorded_but_does_not_decide(new_case):
    seed([200] * 5)
    case = verified(new_case, check(), check(name="strict", threshold=100, mode="dry_run"))
    shadow = VerifyCheckpoint.objects.get(case=case, check_name="strict")
    assert (shadow.result, shadow.dry_run) == ("fail", True)
    assert deliver_result(case).state == "CLOSED"


def test_the_stored_plan_says_each_checks_mode(new_case):
    case = drive_to_verifying(
        new_case(), document=plan(check(), check(name="strict", threshold=100, dry_run=True))
    )
    checks = case.plans.first().document["spec"]["verify"]["checks"]
    assert [c["mode"] for c in checks] == ["enforce", "dry_run"]


def test_stats_count_evaluations_and_would_have_failed_per_dry_run_check(new_case, viewer_api):
    seed([200] * 5)
    strict = check(name="strict", threshold=100, mode="dry_run")
    loose = check(name="loose", threshold=1000, mode="dry_run")
    verified(new_case, check(), strict, loose)
    verified(new_case, check(), strict, loose)
    response = viewer_api.get("/verify/checks/stats")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert set(rows) == {"strict", "loose"}  # the deciding check is not listed
    assert (rows["strict"]["evaluations"], rows["strict"]["would_have_failed"]) == (2, 2)
    assert rows["strict"]["would_have_failed_rate"] == 1.0
    assert (rows["loose"]["evaluations"], rows["loose"]["would_have_failed"]) == (2, 0)
    assert rows["strict"]["template"] == ""  # a hand-written plan


def test_stats_leave_out_checkpoints_older_than_the_window(new_case, viewer_api):
    seed([200] * 5)
    verified(new_case, check(), check(name="strict", threshold=100, mode="dry_run"))
    VerifyCheckpoint.objects.update(created_at="2000-01-01T00:00:00Z")
    assert viewer_api.get("/verify/checks/stats?days=7").json() == []


def test_stats_refuse_a_window_out_of_range_with_a_problem(viewer_api):
    response = viewer_api.get("/verify/checks/stats?days=0")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_stats_need_a_reading_role(anonymous_api, ingest_api):
    assert anonymous_api.get("/verify/checks/stats").status_code == 401
    assert ingest_api.get("/verify/checks/stats").status_code == 403


def test_the_checkpoint_admin_filters_dry_run_checks_apart(new_case):
    seed([200] * 5)
    verified(new_case, check(), check(name="strict", threshold=100, mode="dry_run"))
    admin = make_user("ada", superuser=True)
    admin.is_staff = True
    admin.save()
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/verifier/verifycheckpoint/?mode=dry_run").content.decode()
    assert "strict" in page and "p95-latency" not in page
