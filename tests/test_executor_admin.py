"""The admin shows a run with its steps inline, status, duration and the output tail."""

import pytest
from django.test import Client

from apps.executor import runner, services
from tests import support
from tests.conftest import drive_to_executing, make_user, plan_step, sample_plan

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_run_page_shows_each_step_with_its_status_and_output_tail(new_case):
    support.purge_broker()
    plan = sample_plan(steps=[plan_step("greet", params={"message": "hello from step"})])
    case = drive_to_executing(new_case(), document=plan)
    run = services.exec_start(case_id=case.pk, actor="olga")
    assert runner.execute(str(run.steps.get().message_id)) == "succeeded"
    support.purge_broker()
    admin = Client()
    root = make_user("root", superuser=True)
    root.is_staff = True
    root.save()
    admin.force_login(root)
    listing = admin.get("/admin/executor/execrun/")
    assert listing.status_code == 200
    page = admin.get(f"/admin/executor/execrun/{run.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "greet" in html
    assert "succeeded" in html
    assert "hello from step" in html


def test_a_failing_rollback_step_fails_the_run_naming_both_steps(new_case):
    support.purge_broker()
    plan = sample_plan(
        steps=[plan_step("boom", params={"fail": True})],
        rollback=[plan_step("undo", params={"fail": True, "error": "undo broke"}), plan_step("u2")],
    )
    case = drive_to_executing(new_case(), document=plan)
    run = services.exec_start(case_id=case.pk, actor="olga")
    assert runner.execute(str(run.steps.get().message_id)) == "failed"
    assert runner.execute(str(run.steps.get(phase="rollback").message_id)) == "failed"
    support.purge_broker()
    run.refresh_from_db()
    assert run.status == "failed"
    assert "step 'boom' failed" in run.reason
    assert "rollback step 'undo' failed" in run.reason
    assert not run.steps.filter(step_id="u2").exists()
