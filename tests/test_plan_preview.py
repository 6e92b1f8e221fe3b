"""GET /plan/{id}/preview: what each step would do, found without doing it.

Kubernetes against the fake API server (server-side dry run), scripts from a real script
directory, HTTP against a real local gateway: a preview must change, run and send nothing.
"""

import json
import uuid

import pytest
from django.contrib.auth.models import User

from tests import factories
from tests.conftest import client_for, make_user, plan_step, sample_plan
from tests.fakes.gateway import FakeGateway
from tests.fakes.kube_api import FakeKubeAPI

pytestmark = pytest.mark.django_db

TARGET = {"environment": "staging", "service": "checkout", "namespace": "shop", "name": "checkout"}


@pytest.fixture(autouse=True)
def bounds(db):
    """The policy lets staging plans name all of it, so the adapters' own allow-lists
    (settings) are what a preview shows refusing."""
    factories.set_targets(
        "staging",
        actions=["echo.*", "kubernetes.*", "script.*", "http.*"],
        kubernetes_namespaces=["shop", "kube-system"],
        http_hosts=["127.0.0.1", "169.254.169.254"],
        scripts=["mark"],
    )


@pytest.fixture
def kube(tmp_path, settings):
    fake = FakeKubeAPI().start()
    fake.add_deployment("shop", "checkout", "shop/checkout:1.0", replicas=2)
    settings.KUBECONFIG = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    settings.EXEC_K8S_NAMESPACES = ["shop"]
    yield fake
    fake.stop()


@pytest.fixture
def gateway(settings):
    fake = FakeGateway().start()
    settings.EXEC_HTTP_ALLOWED_HOSTS = [fake.host]
    yield fake
    fake.stop()


@pytest.fixture
def scripts(tmp_path, settings):
    """A script directory with `mark`, which writes the marker file it is given."""
    directory = tmp_path / "scripts"
    directory.mkdir()
    script = directory / "mark"
    script.write_text('#!/bin/sh\necho ran > "$1"\n')
    script.chmod(0o755)
    settings.AIOPS_SCRIPT_DIR = str(directory)
    return directory


def propose(new_case, steps, rollback=None):
    """A case in PLANNING with a hand-written plan of `steps` (proposed, not approved)."""
    user = User.objects.get(username="olga")
    case = factories.drive_to_planning(new_case(), user)
    document = sample_plan(
        target=dict(TARGET),
        steps=steps,
        rollback=rollback or [plan_step("undo", "echo", "echo", params={"message": "undo"})],
    )
    return factories.propose(case, user, document)


def k8s(step_id, action, **params):
    return plan_step(step_id, "kubernetes", action, params=params)


def preview(api, plan):
    response = api.get(f"/plan/{plan.pk}/preview")
    assert response.status_code == 200, response.content
    return response.json()["steps"]


def test_a_kubernetes_step_is_previewed_as_a_server_side_dry_run_with_a_diff(api, new_case, kube):
    plan = propose(new_case, [k8s("image", "set_image", image="shop/checkout:2.0")])
    step = preview(api, plan)[0]
    assert step["target"] == "Deployment shop/checkout"
    assert "-    - image: shop/checkout:1.0" in step["detail"]["diff"]
    assert "+    - image: shop/checkout:2.0" in step["detail"]["diff"]
    patches = [r for r in kube.requests if r["method"] == "PATCH"]
    assert [p["query"].get("dryRun") for p in patches] == [["All"]]


def test_a_scale_preview_diffs_the_replicas(api, new_case, kube):
    plan = propose(new_case, [k8s("scale", "scale", replicas=5)])
    diff = preview(api, plan)[0]["detail"]["diff"]
    assert "-replicas: 2" in diff and "+replicas: 5" in diff


def test_previews_list_forward_steps_then_rollback_steps(api, new_case, kube):
    plan = propose(
        new_case,
        [k8s("scale", "scale", replicas=3), k8s("wait", "rollout_status")],
        rollback=[k8s("scale-back", "scale", replicas=2)],
    )
    steps = preview(api, plan)
    assert [(s["phase"], s["step_id"]) for s in steps] == [
        ("forward", "scale"),
        ("forward", "wait"),
        ("rollback", "scale-back"),
    ]
    assert steps[1]["summary"] == "wait until the rollout of Deployment shop/checkout is complete"


def test_a_namespace_outside_the_allow_list_is_shown_refused(api, new_case, kube):
    plan = propose(new_case, [k8s("scale", "scale", replicas=3, namespace="kube-system")])
    step = preview(api, plan)[0]
    assert "not in the allow-list" in step["refused"]
    assert not [r for r in kube.requests if r["method"] == "PATCH"]


def test_a_script_step_is_previewed_as_its_argv_with_secrets_as_references(
    api, new_case, scripts, monkeypatch
):
    monkeypatch.setenv("AIOPS_SECRET_DEPLOY_TOKEN", "s3cr3t-value")
    ref = {"secretRef": {"source": "env", "name": "DEPLOY_TOKEN"}}
    plan = propose(
        new_case, [plan_step("mark", "script", "run", params={"name": "mark", "args": ["x", ref]})]
    )
    step = preview(api, plan)[0]
    assert step["detail"]["argv"] == [str(scripts / "mark"), "x", "[secretRef env:DEPLOY_TOKEN]"]
    assert "s3cr3t-value" not in str(step)


def test_an_http_step_is_previewed_as_its_request_with_credentials_redacted(api, new_case, gateway):
    ref = {"secretRef": {"source": "env", "name": "GATEWAY_TOKEN"}}
    params = {
        "method": "put",
        "url": f"{gateway.url}/routes/checkout",
        "headers": {"Authorization": "Bearer written-in-the-plan", "X-Token": ref},
        "json": {"weight": 10},
    }
    plan = propose(new_case, [plan_step("route", "http", "request", params=params)])
    detail = preview(api, plan)[0]["detail"]
    assert (detail["method"], detail["url"]) == ("PUT", f"{gateway.url}/routes/checkout")
    assert detail["headers"]["Authorization"] == "[redacted]"
    assert detail["headers"]["X-Token"] == "[secretRef env:GATEWAY_TOKEN]"
    assert detail["body"] == '{"weight": 10}'


def test_an_http_step_to_a_host_outside_the_allow_list_is_shown_refused(api, new_case, gateway):
    params = {"url": "http://169.254.169.254/latest/meta-data/"}
    plan = propose(new_case, [plan_step("steal", "http", "request", params=params)])
    assert "169.254.169.254" in preview(api, plan)[0]["refused"]


def test_previewing_changes_runs_and_sends_nothing(api, new_case, kube, scripts, gateway):
    """The attack: a plan whose every step would change something, previewed."""
    marker = scripts.parent / "marker"
    image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "v2"}]}}}}
    path = "/apis/apps/v1/namespaces/shop/deployments/checkout"
    kube.handle("PATCH", path, {}, "application/merge-patch+json", json.dumps(image).encode())
    kube.requests.clear()  # revision 2 is live: the undo has one to go back to
    before = kube.deployment("shop", "checkout")
    plan = propose(
        new_case,
        [
            k8s("image", "set_image", image="shop/checkout:evil"),
            k8s("restart", "rollout_restart"),
            plan_step("mark", "script", "run", params={"name": "mark", "args": [str(marker)]}),
            plan_step("call", "http", "request", params={"url": f"{gateway.url}/drain"}),
        ],
        rollback=[k8s("undo", "rollout_undo")],
    )
    steps = preview(api, plan)
    assert not [s for s in steps if s["refused"]], steps
    after = kube.deployment("shop", "checkout")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]
    assert all(r["query"].get("dryRun") == ["All"] for r in kube.requests if r["method"] == "PATCH")
    assert not marker.exists()
    assert gateway.requests == []


def test_an_unknown_plan_is_a_404_problem(api):
    response = api.get(f"/plan/{uuid.uuid4()}/preview")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_plan_id_that_is_no_uuid_is_a_404_problem(api):
    assert api.get("/plan/not-a-uuid/preview").status_code == 404


def test_a_viewer_may_preview(new_case, kube):
    plan = propose(new_case, [k8s("scale", "scale", replicas=3)])
    viewer = client_for(make_user("vera", "viewer"))
    assert viewer.get(f"/plan/{plan.pk}/preview").status_code == 200


def test_the_pending_approvals_page_shows_each_plans_preview(client, new_case, kube):
    targets = {"actions": ["kubernetes.*", "echo.*"], "kubernetes_namespaces": ["shop"]}
    factories.set_autopilot(
        "staging", "manual", auto_approve_max=0, reject_min=100, targets=targets
    )
    user = User.objects.get(username="olga")
    document = sample_plan(target=dict(TARGET), steps=[k8s("scale", "scale", replicas=4)])
    case = factories.drive_to_gate_decision(new_case(), user, document)
    assert case.state == "WAIT_GATE"
    admin = make_user("alma", "approver")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    page = client.get("/admin/gate/gatedecision/pending/").content.decode()
    assert "+replicas: 4" in page
