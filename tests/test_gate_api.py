"""POST /gate/eval, /gate/approve, /gate/reject, the TTL sweep and the admin pages (DESIGN §5)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from apps.cases.models import CaseTimeline, OpsCase, Outbox
from apps.gate import services
from apps.gate.models import GateDecision, GatePolicy, PlanApproved
from apps.gate.tasks import expire_pending_approvals
from tests.conftest import client_for, make_user, sample_plan
from tests.factories import TEMPLATE_TARGETS, deliver_outbox, observe

pytestmark = pytest.mark.django_db

# No change windows here: decisions must not depend on when the suite runs. Manual autopilot:
# these tests call each stage themselves; deliver_outbox() plays the Orchestrator's part.
POLICY = {
    "approval_ttl_minutes": 240,
    "environments": {
        "staging": {
            "autopilot": "manual",
            "targets": TEMPLATE_TARGETS,
            "auto_approve_max": 40,
            "reject_min": 90,
            "four_eyes": False,
        },
        "prod": {
            "autopilot": "manual",
            "targets": TEMPLATE_TARGETS,
            "auto_approve_max": 20,
            "reject_min": 80,
            "four_eyes": True,
        },
        "dev": {
            "autopilot": "manual",
            "targets": TEMPLATE_TARGETS,
            "auto_approve_max": 1,
            "reject_min": 95,
            "four_eyes": False,
        },
    },
}
UNKNOWN = "0b5e8e52-4c9e-4e43-9d54-5b0e3f9f2a11"


@pytest.fixture
def policy(db):
    return services.policy_save(document=POLICY, cedar="", actor="test")


@pytest.fixture
def approver(db):
    return make_user("alice", "approver")


@pytest.fixture
def approver_api(approver):
    return client_for(approver)


@pytest.fixture
def at_gate(api, new_case, policy):
    """A case in WAIT_GATE with a restart plan proposed by the operator olga; the service's
    metrics have been seen, so the plan's checks watch real series."""

    def make(environment="staging", template="restart", **params):
        case = new_case(environment=environment)
        observe(case.service, "http_p95_ms")
        api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
        body = {"case_id": str(case.pk), "template": template, "params": params}
        assert api.post("/plan/generate", body, format="json").status_code == 201
        deliver_outbox()
        api.patch(f"/case/{case.pk}/transition", {"event": "plan_ready"}, format="json")
        return case

    return make


def post(client, path, case_id, **body):
    response = client.post(path, {"case_id": str(case_id), **body}, format="json")
    deliver_outbox()
    return response


def gate_eval(client, case_id):
    return post(client, "/gate/eval", case_id)


def state(case):
    return OpsCase.objects.get(pk=case.pk).state


# --- /gate/eval -----------------------------------------------------------------------------


def test_low_risk_plan_is_auto_approved(api, at_gate):
    case = at_gate()
    response = gate_eval(api, case.pk)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "approved"
    assert body["actor"] == "olga"
    assert body["reasons"][0].startswith("risk ")
    assert PlanApproved.objects.filter(case=case).count() == 1
    approved = Outbox.objects.get(subject=str(case.pk), type="evt.plan.approved.v1")
    assert approved.data["decision_id"] == body["id"]


def test_decision_records_policy_version_risk_and_latency(api, at_gate, policy):
    case = at_gate()
    gate_eval(api, case.pk)
    decision = GateDecision.objects.get(case=case)
    assert decision.policy_version == policy.version
    assert decision.risk == case.plans.get().risk_score
    assert decision.latency_ms > 0


def test_risk_between_the_thresholds_needs_a_human_and_stays_at_the_gate(api, at_gate):
    case = at_gate(environment="prod")
    body = gate_eval(api, case.pk).json()
    assert body["decision"] == "needs_human"
    assert state(case) == "WAIT_GATE"
    assert not PlanApproved.objects.exists()
    event = Outbox.objects.get(subject=str(case.pk), type="evt.gate.decision.v1")
    assert event.data["decision"] == "needs_human"
    assert not Outbox.objects.filter(type="evt.plan.approved.v1").exists()


def test_risk_at_the_reject_threshold_parks_the_case_with_the_reasons(api, at_gate):
    services.policy_save(
        document={
            "environments": {
                "staging": {
                    "autopilot": "manual",
                    "targets": TEMPLATE_TARGETS,
                    "auto_approve_max": 0,
                    "reject_min": 1,
                }
            }
        },
        cedar="",
        actor="test",
    )
    case = at_gate()
    body = gate_eval(api, case.pk).json()
    assert body["decision"] == "rejected"
    assert state(case) == "PARKED"
    park = CaseTimeline.objects.get(case=case, event="gate_rejected")
    assert park.reason == body["reasons"][0]
    assert "reject threshold 1" in park.reason


def test_environment_not_allowed_is_rejected(api, new_case, policy):
    case = new_case(environment="qa")  # a plan in qa may only echo: nothing is allowed there
    api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
    plan = sample_plan(target={"environment": "qa", "service": "checkout"})
    body = {"case_id": str(case.pk), "plan": plan}
    assert api.post("/plan/generate", body, format="json").status_code == 201
    deliver_outbox()
    api.patch(f"/case/{case.pk}/transition", {"event": "plan_ready"}, format="json")
    body = gate_eval(api, case.pk).json()
    assert body["decision"] == "rejected"
    assert "environment 'qa' is not allowed" in body["reasons"][0]
    assert state(case) == "PARKED"


def test_outside_the_change_window_is_rejected(api, at_gate):
    never = [{"days": ["mon"], "start": "00:00", "end": "00:01"}]
    document = {
        "environments": {
            "staging": {
                "autopilot": "manual",
                "targets": TEMPLATE_TARGETS,
                "auto_approve_max": 40,
                "reject_min": 90,
                "change_windows": never,
            }
        }
    }
    services.policy_save(document=document, cedar="", actor="test")
    case = at_gate()
    # Evaluate at a moment certainly outside the window: a Tuesday noon.
    tuesday = timezone.now().replace(year=2026, month=11, day=24, hour=12)
    decision = services.gate_eval(case_id=case.pk, actor="olga", now=tuesday)
    deliver_outbox()
    assert decision.decision == "rejected"
    assert "outside the change windows" in decision.reasons[0]


def test_in_a_freeze_is_rejected(api, at_gate):
    now = timezone.now()
    freeze = {
        "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "launch",
    }
    document = {
        "environments": {
            "staging": {
                "autopilot": "manual",
                "targets": TEMPLATE_TARGETS,
                "auto_approve_max": 40,
                "reject_min": 90,
                "freezes": [freeze],
            }
        }
    }
    services.policy_save(document=document, cedar="", actor="test")
    case = at_gate()
    body = gate_eval(api, case.pk).json()
    assert body["decision"] == "rejected"
    assert "change freeze" in body["reasons"][0]


def test_cedar_forbid_rejects(api, at_gate):
    cedar = 'forbid(principal, action, resource) when { context.template == "restart" };'
    services.policy_save(document=POLICY, cedar=cedar, actor="test")
    case = at_gate()
    body = gate_eval(api, case.pk).json()
    assert body["decision"] == "rejected"
    assert body["reasons"] == ["Cedar policy policy0 forbids this change"]


def test_every_decision_is_on_the_timeline_with_its_actor(api, at_gate):
    case = at_gate(environment="prod")
    gate_eval(api, case.pk)
    note = CaseTimeline.objects.get(case=case, event="gate_decision")
    assert note.actor == "olga"
    assert note.data["decision"] == "needs_human"
    assert note.from_state == note.to_state == "WAIT_GATE"


def test_eval_on_a_case_not_at_the_gate_is_409(api, new_case, policy):
    case = new_case()
    response = gate_eval(api, case.pk)
    assert response.status_code == 409
    assert response.json()["state"] == "NEW"
    assert response.json()["type"].endswith("/case-not-at-gate")


def test_eval_of_an_already_approved_plan_is_409(api, at_gate):
    case = at_gate()
    services.gate_eval(case_id=case.pk, actor="olga")  # approved; not yet moved on
    response = api.post("/gate/eval", {"case_id": str(case.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/gate-already-decided")


def test_eval_without_case_id_is_400(api):
    response = api.post("/gate/eval", {}, format="json")
    assert response.status_code == 400
    assert "case_id" in response.json()["errors"]


def test_eval_of_unknown_case_is_404(api):
    assert gate_eval(api, UNKNOWN).status_code == 404


def test_eval_without_credentials_is_401(anonymous_api, at_gate):
    assert gate_eval(anonymous_api, at_gate().pk).status_code == 401


def test_viewer_cannot_eval_403(viewer_api, at_gate):
    assert gate_eval(viewer_api, at_gate().pk).status_code == 403


# --- human approval -------------------------------------------------------------------------


@pytest.fixture
def pending(api, at_gate):
    """A prod case (four-eyes on) whose plan needs a human."""
    case = at_gate(environment="prod")
    assert gate_eval(api, case.pk).json()["decision"] == "needs_human"
    return case


def test_another_approver_can_approve(approver_api, pending):
    response = post(approver_api, "/gate/approve", pending.pk, comment="looks fine")
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "approved"
    assert body["actor"] == "alice"
    assert PlanApproved.objects.get(case=pending).approved_by == "alice"
    event = Outbox.objects.get(subject=str(pending.pk), type="evt.plan.approved.v1")
    assert event.data["approved_by"] == "alice"
    note = CaseTimeline.objects.filter(case=pending, event="gate_decision").last()
    assert note.actor == "alice"
    assert note.reason == "approved by alice: looks fine"


def test_the_requester_cannot_approve_with_four_eyes_on(operator, api, pending):
    operator.groups.add(Group.objects.get_or_create(name="approver")[0])
    response = post(api, "/gate/approve", pending.pk)
    assert response.status_code == 403
    assert response.json()["type"].endswith("/four-eyes")
    assert not PlanApproved.objects.exists()


def test_the_requester_may_approve_where_four_eyes_is_off(operator, api, at_gate):
    operator.groups.add(Group.objects.get_or_create(name="approver")[0])
    case = at_gate(environment="dev")
    assert gate_eval(api, case.pk).json()["decision"] == "needs_human"
    assert post(api, "/gate/approve", case.pk).status_code == 200


def test_an_operator_cannot_approve_403(api, pending):
    assert post(api, "/gate/approve", pending.pk).status_code == 403


def test_a_viewer_cannot_approve_or_reject_403(viewer_api, pending):
    assert post(viewer_api, "/gate/approve", pending.pk).status_code == 403
    assert post(viewer_api, "/gate/reject", pending.pk, comment="no").status_code == 403


def test_approve_without_credentials_is_401(anonymous_api, pending):
    assert post(anonymous_api, "/gate/approve", pending.pk).status_code == 401
    assert post(anonymous_api, "/gate/reject", pending.pk, comment="x").status_code == 401


def test_approve_of_unknown_case_is_404(approver_api):
    assert post(approver_api, "/gate/approve", UNKNOWN).status_code == 404
    assert post(approver_api, "/gate/reject", UNKNOWN, comment="x").status_code == 404


def test_approve_without_case_id_is_400(approver_api):
    assert approver_api.post("/gate/approve", {}, format="json").status_code == 400


def test_approve_before_any_evaluation_is_409(approver_api, at_gate):
    response = post(approver_api, "/gate/approve", at_gate().pk)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/no-pending-approval")


def test_approve_twice_is_409(approver_api, pending):
    post(approver_api, "/gate/approve", pending.pk)
    response = post(approver_api, "/gate/approve", pending.pk)
    assert response.status_code == 409
    assert GateDecision.objects.filter(case=pending, decision="approved").count() == 1


def test_approve_on_a_case_not_at_the_gate_is_409(approver_api, new_case):
    response = post(approver_api, "/gate/approve", new_case().pk)
    assert response.status_code == 409


def test_reject_needs_a_comment_400(approver_api, pending):
    response = post(approver_api, "/gate/reject", pending.pk, comment="  ")
    assert response.status_code == 400
    assert state(pending) == "WAIT_GATE"


def test_reject_parks_the_case_with_the_comment(approver_api, pending):
    response = post(approver_api, "/gate/reject", pending.pk, comment="not during the sale")
    assert response.status_code == 200
    assert response.json()["decision"] == "rejected"
    park = CaseTimeline.objects.get(case=pending, event="gate_rejected")
    assert park.actor == "alice"
    assert park.reason == "rejected by alice: not during the sale"
    assert state(pending) == "PARKED"


def test_reject_of_a_case_not_at_the_gate_is_409(approver_api, new_case):
    assert post(approver_api, "/gate/reject", new_case().pk, comment="x").status_code == 409


# --- TTL ------------------------------------------------------------------------------------


def test_a_pending_approval_past_its_ttl_parks_the_case(pending):
    GateDecision.objects.filter(case=pending).update(
        created_at=timezone.now() - timedelta(minutes=241)
    )
    assert expire_pending_approvals() == 1
    deliver_outbox()
    assert state(pending) == "PARKED"
    park = CaseTimeline.objects.get(case=pending, event="gate_rejected")
    assert park.actor == "system:gate"
    assert "approval TTL of 240 minutes" in park.reason


def test_a_pending_approval_within_its_ttl_keeps_waiting(pending):
    GateDecision.objects.filter(case=pending).update(
        created_at=timezone.now() - timedelta(minutes=239)
    )
    assert expire_pending_approvals() == 0
    assert state(pending) == "WAIT_GATE"


def test_the_ttl_comes_from_the_policy(pending):
    services.policy_save(document={**POLICY, "approval_ttl_minutes": 5}, cedar="", actor="t")
    GateDecision.objects.filter(case=pending).update(
        created_at=timezone.now() - timedelta(minutes=6)
    )
    assert expire_pending_approvals() == 1


def test_the_ttl_sweep_is_scheduled():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "apps.gate.tasks.expire_pending_approvals" in tasks


# --- policy versions ------------------------------------------------------------------------


def test_the_policy_file_is_seeded_once_and_again_only_when_it_changes(db, tmp_path, settings):
    call_command("seed_gate_policy")
    call_command("seed_gate_policy")
    assert GatePolicy.objects.count() == 1
    changed = tmp_path / "policy.yaml"
    changed.write_text("environments: {dev: {auto_approve_max: 10, reject_min: 20}}\n")
    settings.GATE_POLICY_FILE = changed
    call_command("seed_gate_policy")
    assert list(GatePolicy.objects.values_list("version", flat=True)) == [2, 1]


def test_an_empty_policy_table_is_seeded_from_the_file_on_first_use(api, new_case):
    from apps.gate.selectors import policy_in_force

    assert not GatePolicy.objects.exists()
    assert policy_in_force().source.startswith("file:")


def test_the_policy_in_force_is_readable(viewer_api, policy):
    body = viewer_api.get("/gate/policy").json()
    assert body["version"] == policy.version
    assert body["document"] == POLICY


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def approver_admin(client, db):
    user = make_user("alma", "approver")
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def test_the_pending_approvals_page_lists_plans_waiting_for_a_human(approver_admin, pending):
    response = approver_admin.get("/admin/gate/gatedecision/pending/")
    assert response.status_code == 200
    assert str(pending.pk) in response.content.decode()


def test_the_approve_button_approves_through_the_service(approver_admin, pending):
    approver_admin.post(
        "/admin/gate/gatedecision/pending/", {"case_id": str(pending.pk), "action": "approve"}
    )
    assert PlanApproved.objects.get(case=pending).approved_by == "alma"


def test_the_reject_button_needs_a_comment(approver_admin, pending):
    response = approver_admin.post(
        "/admin/gate/gatedecision/pending/",
        {"case_id": str(pending.pk), "action": "reject", "comment": ""},
        follow=True,
    )
    assert "needs a comment" in response.content.decode()
    assert state(pending) == "WAIT_GATE"


def test_the_reject_button_parks_the_case(approver_admin, pending):
    approver_admin.post(
        "/admin/gate/gatedecision/pending/",
        {"case_id": str(pending.pk), "action": "reject", "comment": "too risky"},
    )
    deliver_outbox()
    assert state(pending) == "PARKED"


def test_staff_without_the_approver_role_cannot_open_the_page(client, db):
    user = make_user("stan", "operator")
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/gate/gatedecision/pending/").status_code == 403


def test_saving_a_policy_in_the_admin_adds_a_version(admin_client, policy):
    response = admin_client.post(
        f"/admin/gate/gatepolicy/{policy.pk}/change/",
        {
            "document": '{"environments": {"dev": {"auto_approve_max": 5, "reject_min": 50}}}',
            "cedar": "",
            "comment": "tighter",
        },
    )
    assert response.status_code == 302
    assert list(GatePolicy.objects.values_list("version", "comment")) == [
        (2, "tighter"),
        (1, ""),
    ]
    assert GatePolicy.objects.get(version=1).document == POLICY


def test_an_invalid_policy_is_refused_in_the_admin(admin_client, policy):
    response = admin_client.post(
        f"/admin/gate/gatepolicy/{policy.pk}/change/",
        {"document": '{"environments": {}}', "cedar": "", "comment": ""},
    )
    assert response.status_code == 200
    assert GatePolicy.objects.count() == 1


def test_the_decision_list_links_to_the_pending_approvals_page(admin_client):
    response = admin_client.get("/admin/gate/gatedecision/")
    assert "/admin/gate/gatedecision/pending/" in response.content.decode()
