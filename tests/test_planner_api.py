"""POST /plan/generate, GET /plan/schema, the plan_ready guard (DESIGN §5 Planner)."""

import pytest
import yaml

from apps.cases.models import CaseTimeline, OpsCase, Outbox
from apps.planner.models import PlanProposed
from tests.conftest import drive_to_executing, plan_step, sample_plan
from tests.factories import deliver_outbox, run_queued_steps, set_autopilot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def manual_staging(db):
    """These tests call each stage themselves; deliver_outbox() plays the Orchestrator."""
    set_autopilot("staging", "manual")


def start(api, case):
    api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")


def generate(api, case_id, **body):
    return api.post("/plan/generate", {"case_id": str(case_id), **body}, format="json")


def plan_ready(api, case_id):
    return api.patch(f"/case/{case_id}/transition", {"event": "EPlanReady"}, format="json")


@pytest.fixture
def analyzing(api, new_case):
    case = new_case()
    start(api, case)
    return case


def test_template_plan_on_an_analyzing_case_returns_201_and_the_case_moves_to_planning(
    api, analyzing
):
    response = generate(api, analyzing.pk, template="restart")
    assert response.status_code == 201
    body = response.json()
    assert body["case_state"] == "ANALYZING"  # the Orchestrator moves it, on the event
    assert body["revision"] == 1
    assert body["template"] == "restart"
    assert body["ready"] is True
    assert body["document"]["spec"]["target"] == {
        "environment": "staging",
        "service": "checkout",
        "namespace": "staging",  # no namespace given: the environment's
        "kind": "Deployment",
        "name": "checkout",
    }
    deliver_outbox()
    events = list(CaseTimeline.objects.filter(case=analyzing).values_list("event", flat=True))
    assert events[-2:] == ["plan_proposal", "analysis_done"]
    assert OpsCase.objects.get(pk=analyzing.pk).state == "PLANNING"


def test_each_plan_is_the_next_revision(api, analyzing):
    generate(api, analyzing.pk, template="restart")
    response = generate(api, analyzing.pk, template="scale_out", params={"replicas": 5})
    assert response.json()["revision"] == 2
    assert list(PlanProposed.objects.filter(case=analyzing).values_list("revision", flat=True)) == [
        2,
        1,
    ]


def test_plan_proposed_event_is_emitted_with_revision_and_risk(api, analyzing):
    plan = generate(api, analyzing.pk, template="restart").json()
    event = Outbox.objects.get(subject=str(analyzing.pk), type="evt.plan.proposed.v1")
    assert event.data["revision"] == 1
    assert event.data["risk"] == plan["risk_score"]
    assert event.data["plan_id"] == plan["id"]


def test_risk_score_and_its_factors_are_stored_with_the_plan(api, analyzing):
    body = generate(api, analyzing.pk, template="restart").json()
    stored = PlanProposed.objects.get(pk=body["id"])
    assert stored.risk_score == sum(f["points"] for f in stored.risk_factors)
    assert stored.document["metadata"]["risk"]["factors"] == stored.risk_factors
    assert {f["name"] for f in stored.risk_factors} >= {"environment", "recent_failures"}


def test_recent_failed_changes_of_the_service_raise_the_risk(api, new_case, analyzing):
    def failures(body):
        return next(f for f in body["risk_factors"] if f["name"] == "recent_failures")

    before = generate(api, analyzing.pk, template="restart").json()
    failing = sample_plan(steps=[plan_step("boom", params={"fail": True})])
    failed = drive_to_executing(new_case(environment="dev"), document=failing)
    assert api.post("/adapter/exec", {"case_id": str(failed.pk)}, format="json").status_code == 202
    run_queued_steps()  # the step fails, the rollback runs
    deliver_outbox()  # exec_failed: the case parks
    assert OpsCase.objects.get(pk=failed.pk).state == "PARKED"
    after = generate(api, analyzing.pk, template="restart").json()
    assert failures(before) == {"name": "recent_failures", "value": 0, "points": 0}
    assert failures(after) == {"name": "recent_failures", "value": 1, "points": 10}
    assert after["risk_score"] == sum(f["points"] for f in after["risk_factors"])


def test_a_plan_that_would_pass_on_no_data_over_unseen_series_carries_both_risks(api, analyzing):
    from django.utils import timezone

    from apps.sensor.points import Point, floor_minute
    from apps.sensor.services import metrics_upsert

    def evidence(body):
        return {f["name"]: f for f in body["risk_factors"]}

    check = sample_plan()["spec"]["verify"]["checks"][0]
    blind = sample_plan(verify={"delay_s": 0, "checks": [{**check, "no_data": "pass"}]})
    before = generate(api, analyzing.pk, plan=blind).json()
    assert evidence(before)["no_data_pass"] == {
        "name": "no_data_pass",
        "value": ["p95-latency"],
        "points": 42,
    }
    assert evidence(before)["unobserved_evidence"] == {
        "name": "unobserved_evidence",
        "value": ["p95-latency"],
        "points": 20,
    }
    assert before["risk_score"] == sum(f["points"] for f in before["risk_factors"])

    # Once the series was ingested, the check watches something; another service's does not count.
    minute = floor_minute(timezone.now())
    metrics_upsert(points=[Point(minute, "payments", "http_p95_ms", {}, 1.0)])
    assert (
        evidence(generate(api, analyzing.pk, plan=blind).json())["unobserved_evidence"]["points"]
        == 20
    )
    metrics_upsert(points=[Point(minute, "checkout", "http_p95_ms", {}, 1.0)])
    after = generate(api, analyzing.pk, plan=blind).json()
    assert evidence(after)["unobserved_evidence"] == {
        "name": "unobserved_evidence",
        "value": [],
        "points": 0,
    }
    assert evidence(after)["no_data_pass"]["points"] == 42


def test_rollback_template_rolls_back_the_services_last_approved_change(api, new_case, analyzing):
    earlier = new_case()
    drive_to_executing(earlier)  # its approved plan is the sample echo plan
    body = generate(api, analyzing.pk, template="rollback").json()
    assert [s["id"] for s in body["document"]["spec"]["steps"]] == ["revert-say-undo"]


def test_incident_template_picks_the_change_from_the_finding(api, analyzing):
    body = generate(
        api, analyzing.pk, template="incident", params={"finding": {"kind": "latency"}}
    ).json()
    assert body["template"] == "incident"
    assert body["document"]["spec"]["steps"][0]["action"] == "scale"


def test_hand_written_json_plan_is_stored_with_defaults_and_computed_risk(api, analyzing):
    plan = sample_plan()
    plan["metadata"]["risk"] = {"score": 0, "factors": []}  # the Planner fills it in
    body = generate(api, analyzing.pk, plan=plan).json()
    assert body["template"] == ""
    assert body["risk_factors"]
    assert body["document"]["spec"]["verify"]["checks"][0]["dry_run"] is False


def test_yaml_and_json_inputs_give_the_same_stored_plan(api, analyzing):
    plan = sample_plan()
    as_json = generate(api, analyzing.pk, plan=plan).json()
    yaml_body = yaml.safe_dump({"case_id": str(analyzing.pk), "plan": plan})
    as_yaml = api.generic("POST", "/plan/generate", yaml_body, content_type="application/yaml")
    assert as_yaml.status_code == 201
    as_text = generate(api, analyzing.pk, plan=yaml.safe_dump(plan)).json()
    stored = [p.document for p in PlanProposed.objects.filter(case=analyzing).order_by("revision")]
    assert stored[0] == stored[1] == stored[2]
    assert as_json["document"] == as_text["document"]


def test_yaml_plan_body_with_the_case_in_the_query(api, analyzing):
    response = api.generic(
        "POST",
        f"/plan/generate?case_id={analyzing.pk}",
        yaml.safe_dump(sample_plan()),
        content_type="application/yaml",
    )
    assert response.status_code == 201


def test_schema_errors_return_400_naming_each_json_path(api, analyzing):
    plan = sample_plan()
    plan["spec"]["steps"][0]["adapter"] = "ssh"
    plan["spec"]["steps"][0]["timeout_s"] = -1
    del plan["spec"]["target"]["service"]
    response = generate(api, analyzing.pk, plan=plan)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/plan-invalid")
    assert [e["path"] for e in body["errors"]] == [
        "$.spec.steps[0].adapter",
        "$.spec.steps[0].timeout_s",
        "$.spec.target",
    ]
    assert not PlanProposed.objects.exists()
    assert OpsCase.objects.get(pk=analyzing.pk).state == "ANALYZING"  # nothing happened


def test_malformed_yaml_returns_400(api, analyzing):
    response = generate(api, analyzing.pk, plan="steps: [unclosed")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$"


def test_malformed_yaml_body_returns_400(api):
    response = api.generic("POST", "/plan/generate", "a: [", content_type="application/yaml")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


# Nine levels of ten aliases each: 10**9 strings if expanded, a few hundred bytes as text.
BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def test_a_billion_laughs_yaml_body_is_refused_at_once_and_nothing_stored(api, analyzing):
    response = api.generic(
        "POST",
        f"/plan/generate?case_id={analyzing.pk}",
        BILLION_LAUGHS,
        content_type="application/yaml",
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")
    assert "anchors and aliases" in response.json()["detail"]
    as_text = generate(api, analyzing.pk, plan=BILLION_LAUGHS)
    assert as_text.status_code == 400
    assert "anchors and aliases" in as_text.json()["errors"][0]["message"]
    assert not PlanProposed.objects.exists()


def test_plan_for_another_service_is_400(api, analyzing):
    plan = sample_plan(target={"environment": "prod", "service": "payments"})
    response = generate(api, analyzing.pk, plan=plan)
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.spec.target.environment",
        "$.spec.target.service",
    ]


def test_template_and_plan_together_are_400(api, analyzing):
    response = generate(api, analyzing.pk, template="restart", plan=sample_plan())
    assert response.status_code == 400


def test_neither_template_nor_plan_is_400(api, analyzing):
    assert generate(api, analyzing.pk).status_code == 400


def test_unknown_template_is_400(api, analyzing):
    response = generate(api, analyzing.pk, template="reboot")
    assert response.status_code == 400
    assert "template" in response.json()["errors"]


def test_bad_template_parameter_is_400_naming_it(api, analyzing):
    response = generate(api, analyzing.pk, template="canary", params={"percentage": 500})
    assert response.status_code == 400
    assert "params.image" in response.json()["detail"]


def test_case_outside_analyzing_or_planning_is_409(api, new_case):
    case = new_case()
    response = generate(api, case.pk, template="restart")
    assert response.status_code == 409
    assert response.json()["state"] == "NEW"
    assert response.json()["type"].endswith("/case-not-planning")


def test_unknown_case_is_404(api):
    response = generate(api, "0b5e8e52-4c9e-4e43-9d54-5b0e3f9f2a11", template="restart")
    assert response.status_code == 404


def test_missing_credentials_return_401(anonymous_api, analyzing):
    assert generate(anonymous_api, analyzing.pk, template="restart").status_code == 401


def test_viewer_cannot_generate_403(viewer_api, analyzing):
    assert generate(viewer_api, analyzing.pk, template="restart").status_code == 403


def test_incomplete_plan_is_refused_by_plan_ready_saying_what_is_missing(api, analyzing):
    incomplete = sample_plan(rollback=[], verify={"checks": []})
    assert generate(api, analyzing.pk, plan=incomplete).json()["missing"] == [
        "at least one rollback step in spec.rollback",
        "at least one check in spec.verify.checks",
    ]
    deliver_outbox()
    response = plan_ready(api, analyzing.pk)
    assert response.status_code == 409
    body = response.json()
    assert body["guard"] == "plan_ready"
    assert "spec.rollback" in body["detail"]
    assert "spec.verify.checks" in body["detail"]
    assert OpsCase.objects.get(pk=analyzing.pk).state == "PLANNING"


def test_plan_ready_without_any_plan_is_409(api, new_case):
    case = new_case(environment="dev")  # autopilot: the Analyst moves it to PLANNING
    start(api, case)
    deliver_outbox()
    assert CaseTimeline.objects.filter(case=case, event="plan_waiting").exists()
    response = plan_ready(api, case.pk)
    assert response.status_code == 409
    assert "no plan" in response.json()["detail"]


def test_complete_plan_passes_plan_ready(api, analyzing):
    generate(api, analyzing.pk, template="restart")
    deliver_outbox()
    response = plan_ready(api, analyzing.pk)
    assert response.status_code == 200
    assert response.json()["state"] == "WAIT_GATE"


def test_plan_ready_judges_the_latest_revision(api, analyzing):
    generate(api, analyzing.pk, template="restart")
    generate(api, analyzing.pk, plan=sample_plan(rollback=[]))
    deliver_outbox()
    assert plan_ready(api, analyzing.pk).status_code == 409


def test_idempotent_replay_does_not_propose_twice(api, analyzing):
    body = {"case_id": str(analyzing.pk), "template": "restart"}
    first = api.post("/plan/generate", body, format="json", headers={"Idempotency-Key": "k1"})
    again = api.post("/plan/generate", body, format="json", headers={"Idempotency-Key": "k1"})
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert PlanProposed.objects.filter(case=analyzing).count() == 1


def test_plan_can_be_read_back(api, viewer_api, analyzing):
    plan_id = generate(api, analyzing.pk, template="restart").json()["id"]
    response = viewer_api.get(f"/plan/{plan_id}")
    assert response.status_code == 200
    assert response.json()["revision"] == 1
    assert viewer_api.get("/plan/not-a-uuid").status_code == 404


def test_the_json_schema_is_served(viewer_api):
    response = viewer_api.get("/plan/schema")
    assert response.status_code == 200
    assert response.json()["title"] == "aiops/v1 Plan"
    from apps.planner import dsl

    assert response.json() == dsl.schema()
    step = response.json()["$defs"]["step"]
    assert set(step["properties"]["adapter"]["enum"]) >= {"echo", "script", "kubernetes", "http"}


@pytest.mark.parametrize(
    "body",
    [
        {"plan": [1, 2]},
        {"plan": "- just\n- a list"},
        {"plan": 7},
        {"template": "incident", "params": {"finding": {"kind": 5}}},
        {"template": "incident", "params": {"finding": "latency"}},
        {"template": "restart", "params": {"replicas": True}},
        {"template": "restart", "params": ["replicas"]},
        {"template": "canary", "params": {"image": "x:1", "percentage": "ten"}},
        {"template": "scale_out", "params": {"p95_ms": "fast"}},
    ],
)
def test_bad_input_is_400_never_500(api, analyzing, body):
    assert generate(api, analyzing.pk, **body).status_code == 400


def test_yaml_body_that_is_not_a_mapping_is_400(api):
    response = api.generic("POST", "/plan/generate", "- a\n- b", content_type="application/yaml")
    assert response.status_code == 400
