"""POST /adapter/exec and the read endpoints: status codes and problem bodies."""

import uuid

import pytest

from apps.cases.services import case_park
from apps.executor.models import ExecRun
from tests.conftest import client_for, drive_to_executing, make_user

pytestmark = pytest.mark.django_db


def exec_(client, case_id):
    return client.post("/adapter/exec", {"case_id": str(case_id)}, format="json")


def test_exec_of_an_executing_case_returns_202_with_the_run_and_its_first_step(api, new_case):
    case = drive_to_executing(new_case())
    response = exec_(api, case.pk)
    assert response.status_code == 202
    body = response.json()
    assert body["case"] == str(case.pk)
    assert body["status"] == "running"
    assert [s["step_id"] for s in body["steps"]] == ["say-hello"]
    assert body["steps"][0]["status"] == "queued"
    assert response["Location"] == f"/adapter/runs/{body['id']}"


def test_exec_without_case_id_is_400(api):
    response = api.post("/adapter/exec", {}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_exec_with_a_malformed_case_id_is_400(api):
    assert api.post("/adapter/exec", {"case_id": "nope"}, format="json").status_code == 400


def test_exec_anonymously_is_401(anonymous_api, new_case):
    assert exec_(anonymous_api, uuid.uuid4()).status_code == 401


def test_exec_by_a_viewer_is_403(viewer_api, new_case):
    case = drive_to_executing(new_case())
    assert exec_(viewer_api, case.pk).status_code == 403
    assert not ExecRun.objects.exists()


def test_exec_of_an_unknown_case_is_404(api):
    assert exec_(api, uuid.uuid4()).status_code == 404


def test_exec_of_a_case_not_in_executing_is_409(api, new_case):
    response = exec_(api, new_case().pk)
    assert response.status_code == 409
    assert response.json()["state"] == "NEW"


def test_exec_of_a_parked_case_is_409(api, new_case):
    case = drive_to_executing(new_case())
    case_park(case_id=case.pk, actor="olga", reason="hold on")
    assert exec_(api, case.pk).status_code == 409


def test_a_second_exec_while_a_run_is_active_is_409_naming_the_run(api, new_case):
    case = drive_to_executing(new_case())
    first = exec_(api, case.pk).json()
    response = exec_(api, case.pk)
    assert response.status_code == 409
    assert response.json()["run_id"] == first["id"]
    assert ExecRun.objects.filter(case=case).count() == 1


def test_exec_with_the_same_idempotency_key_replays_the_first_answer(api, new_case):
    case = drive_to_executing(new_case())
    headers = {"HTTP_IDEMPOTENCY_KEY": "exec-1"}
    first = api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json", **headers)
    again = api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json", **headers)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]


def test_a_run_can_be_read_by_a_viewer(api, viewer_api, new_case):
    case = drive_to_executing(new_case())
    run_id = exec_(api, case.pk).json()["id"]
    response = viewer_api.get(f"/adapter/runs/{run_id}")
    assert response.status_code == 200
    assert viewer_api.get(f"/adapter/runs?case_id={case.pk}").json()["count"] == 1


def test_an_unknown_run_or_step_is_404(api):
    assert api.get(f"/adapter/runs/{uuid.uuid4()}").status_code == 404
    assert api.get("/adapter/runs/not-a-uuid").status_code == 404
    assert api.get("/adapter/steps/999999/output").status_code == 404
    assert api.get("/adapter/steps/abc/output").status_code == 404


def test_reading_runs_anonymously_is_401(anonymous_api):
    assert anonymous_api.get("/adapter/runs").status_code == 401


def test_a_user_without_a_role_cannot_read_runs(new_case):
    client = client_for(make_user("nobody"))
    assert client.get("/adapter/runs").status_code == 403


def test_an_approval_is_good_for_one_run_only(api, new_case):
    from django.utils import timezone

    case = drive_to_executing(new_case())
    run_id = exec_(api, case.pk).json()["id"]
    ExecRun.objects.filter(pk=run_id).update(status="failed", finished_at=timezone.now())
    response = exec_(api, case.pk)
    assert response.status_code == 409
    assert "good for one run" in response.json()["detail"]
    assert ExecRun.objects.filter(case=case).count() == 1
