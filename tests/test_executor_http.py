"""The http adapter against a real local gateway server, with a real worker."""

import pytest

from apps.executor import services
from apps.executor.models import ExecStep
from tests import support
from tests.conftest import (
    drive_to_executing,
    plan_step,
    sample_plan,
    wait_run_finished,
    wait_transition,
)
from tests.factories import set_targets
from tests.fakes.gateway import FakeGateway

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gateway():
    fake = FakeGateway().start()
    yield fake
    fake.stop()


@pytest.fixture
def http_worker(transactional_db, gateway):
    # The policy lets staging reach the metadata address too, so that the adapter's own
    # allow-list (AIOPS_EXEC_HTTP_ALLOWED_HOSTS) is what refuses it below.
    set_targets(
        "staging", actions=["echo.*", "http.*"], http_hosts=[gateway.host, "169.254.169.254"]
    )
    support.purge_broker()
    process = support.celery_worker(AIOPS_EXEC_HTTP_ALLOWED_HOSTS=gateway.host).start()
    yield process
    process.stop()


def call(step_id, url, timeout_s=10, **params):
    return plan_step(
        step_id,
        "http",
        "request",
        params={"method": "POST", "url": url, **params},
        timeout_s=timeout_s,
    )


def begin(new_case, steps, rollback):
    plan = sample_plan(steps=steps, rollback=rollback)
    case = drive_to_executing(new_case(), document=plan)
    return case, services.exec_start(case_id=case.pk, actor="olga")


def test_a_gateway_call_succeeds_with_the_step_message_id_as_idempotency_key(
    new_case, gateway, http_worker
):
    body = {"route": "checkout", "canary_weight": 10}
    case, run = begin(
        new_case,
        [call("shift", f"{gateway.url}/routes/checkout", json=body, expected_status=200)],
        [call("unshift", f"{gateway.url}/routes/checkout", json={"canary_weight": 0})],
    )
    wait_transition(case, "exec_done")
    step = run.steps.get()
    assert gateway.requests == [
        {"method": "POST", "path": "/routes/checkout", "key": str(step.message_id), "json": body}
    ]
    assert step.result["status"] == 200


def test_a_slow_gateway_times_the_step_out(new_case, gateway, http_worker):
    gateway.delay("/slow", 5)
    case, run = begin(
        new_case, [call("slow", f"{gateway.url}/slow", timeout_s=1)], [plan_step("undo")]
    )
    wait_transition(case, "exec_failed")
    assert run.steps.get(phase="forward").status == "timed_out"


def test_a_503_is_retried_with_a_new_key_and_then_succeeds(new_case, gateway, http_worker):
    gateway.respond("/routes/checkout", 503)
    step = {**call("shift", f"{gateway.url}/routes/checkout"), "retries": 1, "backoff_s": 0.1}
    case, run = begin(new_case, [step], [plan_step("undo")])
    wait_transition(case, "exec_done")
    attempts = run.steps.order_by("attempt")
    assert [s.status for s in attempts] == ["failed", "succeeded"]
    assert [r["key"] for r in gateway.requests] == [str(s.message_id) for s in attempts]
    assert len(gateway.applied) == 1


def test_an_unexpected_status_runs_the_rollback_call_and_parks_the_case(
    new_case, gateway, http_worker
):
    gateway.respond("/routes/checkout", 409)
    case, run = begin(
        new_case,
        [call("shift", f"{gateway.url}/routes/checkout", json={"canary_weight": 50})],
        # `body` as the Planner's canary template writes it
        [call("unshift", f"{gateway.url}/routes/checkout", body={"canary_weight": 0})],
    )
    parked = wait_transition(case, "exec_failed")
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    assert [r["json"] for r in gateway.applied] == [{"canary_weight": 0}]
    assert "returned 409" in parked.reason


def test_a_host_outside_the_allow_list_is_refused(new_case, gateway, http_worker):
    case, run = begin(
        new_case,
        [{**call("evil", "http://169.254.169.254/latest/meta-data"), "retries": 2}],
        [plan_step("undo")],
    )
    wait_transition(case, "exec_failed")
    attempts = ExecStep.objects.filter(run=run, phase="forward")
    assert attempts.count() == 1
    assert "allow-list" in attempts.get().error
    assert gateway.requests == []
