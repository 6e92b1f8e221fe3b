"""Secrets by reference, end to end with real workers: the adapter gets the value, nothing
that is stored or served keeps it (docs/security.md#how-secrets-flow)."""

import json
from pathlib import Path

import pytest
from django.apps import apps

from apps.cases.models import CaseTimeline
from apps.executor import services
from apps.executor.models import ExecStep
from apps.planner.models import PlanProposed
from tests import support
from tests.conftest import drive_to_executing, plan_step, sample_plan, wait_transition
from tests.factories import set_targets
from tests.fakes.gateway import FakeGateway

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cr3t-gw-7f3a9c"  # the secret the tests look for everywhere
ENV_REF = {"secretRef": {"source": "env", "name": "GATEWAY_TOKEN"}}


@pytest.fixture
def gateway():
    fake = FakeGateway().start()
    yield fake
    fake.stop()


@pytest.fixture
def log_dir(tmp_path, settings):
    """This test's own log store, shared by the worker and the API served here: every file
    in it is this test's."""
    settings.EXEC_LOG_DIR = tmp_path / "logs"
    return settings.EXEC_LOG_DIR


@pytest.fixture
def http_worker(transactional_db, gateway, tmp_path, log_dir):
    set_targets(
        "staging",
        actions=["echo.*", "http.*", "script.*"],
        http_hosts=[gateway.host],
        scripts=["echo-args"],
    )
    support.purge_broker()
    (tmp_path / "script-token").write_text(TOKEN + "\n")
    process = support.celery_worker(
        AIOPS_EXEC_HTTP_ALLOWED_HOSTS=gateway.host,
        AIOPS_SECRET_GATEWAY_TOKEN=TOKEN,
        AIOPS_SECRETS_DIR=str(tmp_path),
        AIOPS_EXEC_LOG_DIR=str(log_dir),
    ).start()
    yield process
    process.stop()


def begin(new_case, steps):
    plan = sample_plan(steps=steps, rollback=[plan_step("undo")])
    case = drive_to_executing(new_case(), document=plan)
    return case, services.exec_start(case_id=case.pk, actor="olga")


def database_text() -> str:
    """Every row of every model, as one text (a pg_dump of the data, near enough)."""
    rows = []
    for model in apps.get_models():
        rows.extend(json.dumps(row, default=str) for row in model.objects.values())
    return "\n".join(rows)


def stored_logs(root: Path) -> str:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, "the step left no output in the log store"
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_a_gateway_token_reaches_the_gateway_and_nothing_that_is_stored_or_served(
    new_case, gateway, http_worker, viewer_api, log_dir
):
    gateway.echo_authorization("/routes/checkout")  # the answer (stdout, result) holds it too
    params = {
        "method": "POST",
        "url": f"{gateway.url}/routes/checkout",
        "headers": {"Authorization": ENV_REF},
        "json": {"route": "checkout", "auth": {"token": ENV_REF}},
    }
    case, run = begin(new_case, [plan_step("shift", "http", "request", params=params)])
    wait_transition(case, "exec_done")

    assert gateway.authorizations == [TOKEN]
    assert gateway.requests[0]["json"] == {"route": "checkout", "auth": {"token": TOKEN}}
    step = run.steps.get()
    assert step.params["headers"]["Authorization"] == ENV_REF
    assert step.result["json"]["authorization"] == "[redacted]"

    assert TOKEN not in database_text()
    assert TOKEN not in stored_logs(log_dir)
    served = [
        viewer_api.get(f"/adapter/runs/{run.pk}"),
        viewer_api.get(f"/adapter/steps/{step.pk}/output"),
        viewer_api.get(f"/case/{case.pk}/timeline"),
        viewer_api.get(f"/plan/{PlanProposed.objects.get(case=case).pk}"),
    ]
    for response in served:
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()
    assert '"authorization": "[redacted]"' in served[1].json()["stdout"]


def test_a_script_argument_from_a_file_is_passed_and_its_output_redacted(
    new_case, gateway, http_worker, viewer_api
):
    ref = {"secretRef": {"source": "file", "name": "script-token"}}
    step = plan_step("echo", "script", "run", params={"name": "echo-args", "args": ["hi", ref]})
    case, run = begin(new_case, [step])
    wait_transition(case, "exec_done")
    step = run.steps.get()
    output = viewer_api.get(f"/adapter/steps/{step.pk}/output").json()["stdout"]
    assert output == "hi\n[redacted]\n"
    assert TOKEN not in database_text()


def test_an_unset_secret_fails_the_step_without_retry_naming_the_reference(
    new_case, gateway, http_worker
):
    missing = {"secretRef": {"source": "env", "name": "NOT_THERE"}}
    params = {"url": f"{gateway.url}/routes/checkout", "headers": {"Authorization": missing}}
    step = {**plan_step("shift", "http", "request", params=params), "retries": 2}
    case, run = begin(new_case, [step])
    parked = wait_transition(case, "exec_failed")
    attempts = ExecStep.objects.filter(run=run, phase="forward")
    assert attempts.count() == 1
    assert attempts.get().status == "failed"
    assert "secretRef env:NOT_THERE" in attempts.get().error
    assert "AIOPS_SECRET_NOT_THERE is not set" in parked.reason
    assert gateway.requests == []


@pytest.mark.parametrize(
    "ref",
    [
        {"source": "env", "name": "../DJANGO_SECRET_KEY"},
        {"source": "env", "name": "DJANGO_SECRET_KEY/x"},
        {"source": "file", "name": "../../etc/passwd"},
        {"source": "file", "name": "sub/token"},
    ],
)
def test_a_reference_that_could_escape_is_refused_at_the_door(api, new_case, ref):
    from apps.cases.services import case_transition
    from tests.factories import deliver_outbox

    case = new_case()
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    deliver_outbox()
    params = {"url": "http://gw.example/x", "headers": {"Authorization": {"secretRef": ref}}}
    plan = sample_plan(steps=[plan_step("s", "http", "request", params=params)])
    response = api.post("/plan/generate", {"case_id": str(case.pk), "plan": plan}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == (
        "$.spec.steps[0].params.headers.Authorization.secretRef.name"
    )
    assert not PlanProposed.objects.filter(case=case).exists()
    assert not CaseTimeline.objects.filter(case=case, event="plan_proposed").exists()
