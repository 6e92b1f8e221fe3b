"""The script adapter end to end with a real worker."""

import pytest

from apps.cases.models import CaseTimeline
from apps.executor.models import ExecStep
from tests.conftest import (
    drive_to_executing,
    plan_step,
    sample_plan,
    wait_run_finished,
    wait_transition,
)
from tests.support import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def script(step_id, name, *args, **fields):
    return plan_step(step_id, "script", "run", params={"name": name, "args": list(args)}, **fields)


def start(api, new_case, steps, rollback=None):
    plan = sample_plan(steps=steps, rollback=rollback or [script("undo", "echo-args", "undo")])
    case = drive_to_executing(new_case(), document=plan)
    response = api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json")
    assert response.status_code == 202, response.json()
    return case, response.json()


def test_a_script_step_succeeds_and_its_output_is_kept(api, new_case, start_worker):
    # The shipped directory's stand-in, run by a worker with the default script directory.
    start_worker(AIOPS_SCRIPT_DIR=str(ROOT / "ops-scripts"))
    case, body = start(api, new_case, [script("restart", "restart-service", "checkout")])
    wait_transition(case, "exec_done")
    step = ExecStep.objects.get(run_id=body["id"])
    assert step.exit_code == 0
    output = api.get(f"/adapter/steps/{step.pk}/output").json()["stdout"]
    assert output.startswith("restarting checkout (case ")


def test_a_script_past_its_timeout_is_killed_and_the_case_parks(api, new_case, worker, tmp_path):
    case, body = start(api, new_case, [script("hang", "sleep", "300", timeout_s=1)])
    wait_transition(case, "exec_failed")
    step = ExecStep.objects.get(run_id=body["id"], phase="forward")
    assert step.status == "timed_out"


def test_a_flaky_script_succeeds_on_retry(api, new_case, worker, tmp_path):
    counter = tmp_path / "count"
    case, body = start(
        api, new_case, [script("flaky", "flaky", str(counter), "2", retries=2, backoff_s=0.1)]
    )
    wait_transition(case, "exec_done")
    attempts = ExecStep.objects.filter(run_id=body["id"]).order_by("attempt")
    assert [(s.attempt, s.status, s.exit_code) for s in attempts] == [
        (1, "failed", 1),
        (2, "failed", 1),
        (3, "succeeded", 0),
    ]


def test_a_failing_script_runs_the_rollback_and_parks_the_case(api, new_case, worker, tmp_path):
    undo_log = tmp_path / "undo"
    case, _body = start(
        api,
        new_case,
        [script("migrate", "fail", "3", "schema locked")],
        rollback=[script("undo", "append-line", str(undo_log), "rolled back")],
    )
    wait_transition(case, "exec_failed")
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    assert undo_log.read_text() == "rolled back\n"
    reason = CaseTimeline.objects.get(case=case, event="exec_failed").reason
    assert "exited with code 3" in reason


def test_a_script_name_that_leaves_the_directory_is_refused_at_the_door(api, new_case):
    from apps.cases.services import case_transition
    from apps.planner.models import PlanProposed
    from tests.factories import deliver_outbox

    case = new_case()
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    deliver_outbox()
    plan = sample_plan(steps=[script("evil", "../../bin/sh", "-c", "id", retries=3)])
    response = api.post("/plan/generate", {"case_id": str(case.pk), "plan": plan}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.spec.steps[0].params.name"
    assert not PlanProposed.objects.filter(case=case).exists()
    assert not ExecStep.objects.filter(run__case=case).exists()
