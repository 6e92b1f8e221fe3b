"""The kubernetes adapter through the official client against a fake API server (the wire)."""

import pytest

from apps.cases.models import CaseTimeline
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
from tests.fakes.kube_api import FakeKubeAPI

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kube(tmp_path):
    fake = FakeKubeAPI().start()
    fake.add_deployment("shop", "checkout", "shop/checkout:1.0", replicas=2)
    fake.kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    yield fake
    fake.stop()


@pytest.fixture
def k8s_worker(transactional_db, kube):
    # The gate policy lets staging touch kube-system too, so that the adapter's own
    # allow-list (AIOPS_EXEC_K8S_NAMESPACES) is what refuses it below.
    set_targets(
        "staging",
        actions=["echo.*", "kubernetes.*"],
        kubernetes_namespaces=["shop", "payments", "kube-system"],
    )
    support.purge_broker()
    process = support.celery_worker(
        KUBECONFIG=str(kube.kubeconfig), AIOPS_EXEC_K8S_NAMESPACES="shop,payments"
    ).start()
    yield process
    process.stop()


def k8s(step_id, action, timeout_s=30, **params):
    return plan_step(
        step_id, "kubernetes", action, params={"poll_s": 0.1, **params}, timeout_s=timeout_s
    )


def begin(new_case, steps, rollback=None):
    plan = sample_plan(
        target={
            "environment": "staging",
            "service": "checkout",
            "namespace": "shop",
            "name": "checkout",
        },
        steps=steps,
        rollback=rollback or [k8s("undo", "rollout_undo"), k8s("undo-wait", "rollout_status")],
    )
    case = drive_to_executing(new_case(), document=plan)
    return case, services.exec_start(case_id=case.pk, actor="olga")


def test_a_rollout_restart_patches_the_template_and_waits_for_the_rollout(
    new_case, kube, k8s_worker
):
    case, run = begin(new_case, [k8s("restart", "rollout_restart"), k8s("wait", "rollout_status")])
    wait_transition(case, "exec_done")
    template = kube.deployment("shop", "checkout")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    patches = [r for r in kube.requests if r["method"] == "PATCH"]
    assert [p["content_type"] for p in patches] == ["application/strategic-merge-patch+json"]
    wait = run.steps.get(step_id="wait")
    assert wait.result["message"] == "deployment successfully rolled out (2 replicas)"
    assert wait.result["polls"] > 1


def test_set_image_and_scale_change_the_deployment(new_case, kube, k8s_worker):
    case, _run = begin(
        new_case,
        [
            k8s("image", "set_image", container="app", image="shop/checkout:1.1"),
            k8s("scale", "scale", replicas=4),
            k8s("wait", "rollout_status"),
        ],
    )
    wait_transition(case, "exec_done")
    deployment = kube.deployment("shop", "checkout")
    assert deployment["spec"]["replicas"] == 4
    assert kube.image("shop", "checkout") == "shop/checkout:1.1"
    assert deployment["status"]["availableReplicas"] == 4


def test_a_planner_restart_plan_runs_against_the_cluster(new_case, kube, k8s_worker):
    from django.utils import timezone

    from apps.planner.templates import build_change_plan

    plan = build_change_plan(
        "restart",
        target={
            "environment": "staging",
            "service": "checkout",
            "namespace": "shop",
            "kind": "Deployment",
            "name": "checkout",
        },
        params={},
        now=timezone.now(),
    )
    case = drive_to_executing(new_case(), document=plan)
    services.exec_start(case_id=case.pk, actor="olga")
    wait_transition(case, "exec_done")
    template = kube.deployment("shop", "checkout")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


def test_set_image_without_a_container_name_sets_the_only_container(new_case, kube, k8s_worker):
    case, _run = begin(new_case, [k8s("image", "set_image", image="shop/checkout:2.0")])
    wait_transition(case, "exec_done")
    assert kube.image("shop", "checkout") == "shop/checkout:2.0"


def test_a_rollout_that_never_becomes_available_times_out(new_case, kube, k8s_worker):
    case, run = begin(
        new_case,
        [
            k8s("image", "set_image", container="app", image="shop/checkout:broken"),
            k8s("wait", "rollout_status", timeout_s=2),
        ],
    )
    wait_transition(case, "exec_failed")
    wait = run.steps.get(step_id="wait", phase="forward")
    assert wait.status == "timed_out"


def test_a_failed_rollout_is_undone_by_the_rollback_steps_and_the_case_parks(
    new_case, kube, k8s_worker
):
    case, run = begin(
        new_case,
        [
            k8s("image", "set_image", container="app", image="shop/checkout:broken"),
            k8s("wait", "rollout_status", timeout_s=2),
        ],
    )
    parked = wait_transition(case, "exec_failed")
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    assert [(s.step_id, s.status) for s in run.steps.filter(phase="rollback")] == [
        ("undo", "succeeded"),
        ("undo-wait", "succeeded"),
    ]
    assert kube.image("shop", "checkout") == "shop/checkout:1.0"
    assert any(
        r["method"] == "PATCH" and r["content_type"] == "application/json-patch+json"
        for r in kube.requests
    )
    assert "step 'wait' timed_out" in parked.reason
    assert CaseTimeline.objects.filter(case=case, to_state="PARKED").exists()


def test_an_api_server_error_is_retried_and_then_succeeds(new_case, kube, k8s_worker):
    kube.fail_next("PATCH", 1, status=503)
    restart = {**k8s("restart", "rollout_restart"), "retries": 2, "backoff_s": 0.1}
    case, run = begin(new_case, [restart])
    wait_transition(case, "exec_done")
    attempts = run.steps.filter(step_id="restart").order_by("attempt")
    assert [s.status for s in attempts] == ["failed", "succeeded"]
    assert "503" in attempts[0].error


def test_a_namespace_outside_the_allow_list_is_refused_without_retries(new_case, kube, k8s_worker):
    step = {**k8s("restart", "rollout_restart", namespace="kube-system"), "retries": 3}
    case, run = begin(new_case, [step], rollback=[plan_step("undo")])
    wait_transition(case, "exec_failed")
    attempts = ExecStep.objects.filter(run=run, phase="forward")
    assert attempts.count() == 1
    assert "not in the allow-list" in attempts.get().error
    assert not [r for r in kube.requests if r["method"] == "PATCH"]
