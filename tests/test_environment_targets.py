"""Attacks on the environment boundary: what a plan touches must be what its case's
environment may touch — at the Planner, at the gate and before each step in the Executor."""

import copy

import pytest

from apps.cases.models import CaseTimeline, OpsCase
from apps.cases.services import case_transition
from apps.executor import runner, services
from apps.executor.models import ExecRun, ExecStep
from apps.gate.services import gate_eval
from apps.planner.models import PlanProposed
from tests import factories
from tests.conftest import drive_to_executing, plan_step, sample_plan
from tests.fakes.kube_api import FakeKubeAPI

pytestmark = pytest.mark.django_db(transaction=True)


def k8s(step_id, action="rollout_restart", **params):
    return plan_step(step_id, "kubernetes", action, params=params)


def dev_plan(*steps):
    target = {"environment": "dev", "service": "checkout", "namespace": "dev", "name": "checkout"}
    return sample_plan(target=target, steps=list(steps), rollback=[plan_step("undo")])


@pytest.fixture
def analyzing_dev(api, new_case):
    case = new_case(environment="dev")
    api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
    return case


def test_a_dev_plan_naming_a_prod_namespace_is_refused_and_not_stored(api, analyzing_dev):
    plan = dev_plan(k8s("restart-dev"), k8s("restart-prod", namespace="prod"))
    response = api.post(
        "/plan/generate", {"case_id": str(analyzing_dev.pk), "plan": plan}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["errors"] == [
        {
            "path": "$.spec.steps[1].params.namespace",
            "message": "namespace 'prod' is not allowed in dev",
        }
    ]
    assert (
        "$.spec.steps[1].params.namespace: namespace 'prod' is not allowed in dev"
        in (body["detail"])
    )
    assert not PlanProposed.objects.filter(case=analyzing_dev).exists()


def test_a_template_aimed_at_a_prod_namespace_from_dev_is_refused(api, analyzing_dev):
    body = {"case_id": str(analyzing_dev.pk), "template": "restart"}
    response = api.post("/plan/generate", {**body, "params": {"namespace": "shop"}}, format="json")
    assert response.status_code == 400
    assert "namespace 'shop' is not allowed in dev" in response.json()["detail"]
    assert not PlanProposed.objects.filter(case=analyzing_dev).exists()
    assert api.post("/plan/generate", body, format="json").status_code == 201  # its own: dev


def test_a_rollback_step_reaching_outside_is_refused_too(api, analyzing_dev):
    plan = dev_plan(k8s("restart"))
    plan["spec"]["rollback"] = [plan_step("undo", "script", "run", params={"name": "fail"})]
    factories.set_targets("dev", actions=["echo.*", "kubernetes.*"], kubernetes_namespaces=["dev"])
    response = api.post(
        "/plan/generate", {"case_id": str(analyzing_dev.pk), "plan": plan}, format="json"
    )
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.spec.rollback[0].action",
        "$.spec.rollback[0].params.name",
    ]


def test_a_plan_the_policy_no_longer_allows_is_rejected_by_the_gate(operator, new_case):
    factories.set_autopilot("dev", "manual")
    case = factories.drive_to_planning(new_case(environment="dev"), operator)
    factories.propose(case, operator, dev_plan(k8s("restart", namespace="default")))
    factories.deliver_outbox()
    # The policy narrows between the proposal and the gate's look at it.
    factories.set_targets("dev", actions=["echo.*", "kubernetes.*"], kubernetes_namespaces=["dev"])
    case_transition(case_id=case.pk, event="plan_ready", actor="olga")
    decision = gate_eval(case_id=case.pk, actor="olga")
    factories.deliver_outbox()
    assert decision.decision == "rejected"
    assert decision.reasons == ["namespace 'default' is not allowed in dev"]
    assert OpsCase.objects.get(pk=case.pk).state == "PARKED"


@pytest.fixture
def kube(tmp_path, settings):
    fake = FakeKubeAPI().start()
    for namespace in ("shop", "payments"):
        fake.add_deployment(namespace, "checkout", "shop/checkout:1.0", replicas=2)
    # The adapter, run in this process, could reach both namespaces: only the policy stops it.
    settings.KUBECONFIG = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    settings.EXEC_K8S_NAMESPACES = ["shop", "payments"]
    yield fake
    fake.stop()


def test_the_executor_refuses_a_step_the_policy_narrowed_away_before_it_starts(new_case, kube):
    both = {"actions": ["echo.*", "kubernetes.*"], "kubernetes_namespaces": ["shop", "payments"]}
    factories.set_targets("staging", **both)
    plan = sample_plan(
        target={"environment": "staging", "service": "checkout", "name": "checkout"},
        steps=[
            k8s("restart-shop", namespace="shop"),
            k8s("restart-payments", namespace="payments"),
        ],
    )
    case = drive_to_executing(new_case(), document=copy.deepcopy(plan))
    run = services.exec_start(case_id=case.pk, actor="olga")
    first = ExecStep.objects.get(run=run, step_id="restart-shop")
    assert runner.execute(str(first.message_id), worker="test") == ExecStep.SUCCEEDED
    assert any("/namespaces/shop/" in r["path"] for r in kube.requests)  # it could reach

    factories.set_targets("staging", **{**both, "kubernetes_namespaces": ["shop"]})
    second = ExecStep.objects.get(run=run, step_id="restart-payments")
    assert runner.execute(str(second.message_id), worker="test") == "duplicate"  # not run

    assert not any("/namespaces/payments/" in r["path"] for r in kube.requests)
    second.refresh_from_db()
    assert second.status == ExecStep.CANCELLED
    assert second.started_at is None
    assert "namespace 'payments' is not allowed in staging" in second.error
    run.refresh_from_db()
    assert run.status == ExecRun.FAILED
    assert "stopped before step 'restart-payments'" in run.reason
    factories.deliver_outbox()
    assert OpsCase.objects.get(pk=case.pk).state == "PARKED"
    park = CaseTimeline.objects.filter(case=case, event="exec_failed").get()
    assert "namespace 'payments' is not allowed in staging" in park.reason
