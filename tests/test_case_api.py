"""The Orchestrator's HTTP contract: every status code of DESIGN §3."""

import json
import uuid

import pytest
from django.contrib.auth.models import User

from aiops.models import Idempotency
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from tests.conftest import client_for, make_user
from tests.factories import deliver_outbox

pytestmark = pytest.mark.django_db

CASE = {"title": "checkout p95 up", "service": "checkout", "environment": "staging"}


def create(api, body=None, **headers):
    return api.post("/case/create", body or CASE, format="json", headers=headers)


def transition(api, case_id, event, reason="", **headers):
    body = {"event": event, "reason": reason}
    return api.patch(f"/case/{case_id}/transition", body, format="json", headers=headers)


def test_create_returns_201_with_etag_and_location(api):
    response = create(api)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "NEW"
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"/case/{body['id']}"


def test_create_writes_timeline_and_outbox_in_one_go(api):
    case_id = create(api).json()["id"]
    assert CaseTimeline.objects.filter(case_id=case_id, event="create").count() == 1
    assert Outbox.objects.filter(subject=case_id, type="evt.case.transition.v1").count() == 1


def test_create_with_missing_fields_returns_400_problem(api):
    response = create(api, {"title": "no service"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {"service", "environment"}


def test_malformed_json_returns_400_problem(api):
    response = api.generic("POST", "/case/create", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


def test_transition_returns_200_and_new_etag(api, new_case):
    case = new_case()
    response = transition(api, case.pk, "start_analysis")
    assert response.status_code == 200
    assert response.json()["state"] == "ANALYZING"
    assert response["ETag"] == '"2"'


def test_transition_accepts_seed_event_names(api, new_case):
    case = new_case()
    transition(api, case.pk, "start_analysis")
    deliver_outbox()  # the Analyst reports; the Orchestrator moves the case to PLANNING
    response = transition(api, case.pk, "EPlanReady")
    assert response.status_code == 409  # known as plan_ready: its guard wants a plan
    assert response.json()["guard"] == "plan_ready"


@pytest.mark.parametrize(
    "event",
    [
        "analysis_done",
        "gate_approved",
        "gate_rejected",
        "exec_done",
        "exec_failed",
        "verify_pass",
        "verify_failed",
        "EGateApproved",
        "EVerifyPass",
    ],
)
def test_a_module_outcome_sent_through_patch_is_refused_403_saying_why(api, new_case, event):
    case = new_case()
    response = transition(api, case.pk, event, reason="trust me")
    assert response.status_code == 403
    body = response.json()
    assert body["type"].endswith("/module-event")
    assert "not a person's event" in body["detail"]
    assert body["person_events"] == ["start_analysis", "plan_ready", "park", "resume", "close"]
    assert OpsCase.objects.get(pk=case.pk).version == 1
    assert not CaseTimeline.objects.filter(case=case).exclude(event="create").exists()


def test_illegal_transition_returns_409_with_allowed_events(api, new_case):
    case = new_case()
    response = transition(api, case.pk, "resume")
    assert response.status_code == 409
    body = response.json()
    assert body["state"] == "NEW"
    assert body["allowed_events"] == ["start_analysis", "park"]
    assert body["type"].endswith("/illegal-transition")
    assert OpsCase.objects.get(pk=case.pk).version == 1


def test_unknown_event_returns_400(api, new_case):
    response = transition(api, new_case().pk, "make_it_so")
    assert response.status_code == 400
    assert "start_analysis" in response.json()["known_events"]


def test_transition_without_event_returns_400(api, new_case):
    response = api.patch(f"/case/{new_case().pk}/transition", {}, format="json")
    assert response.status_code == 400
    assert "event" in response.json()["errors"]


def test_park_without_reason_returns_400(api, new_case):
    response = transition(api, new_case().pk, "park")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/reason-required")


def test_stale_if_match_returns_412_with_current_version(api, new_case):
    case = new_case()
    transition(api, case.pk, "start_analysis")
    response = transition(api, case.pk, "park", "stale", **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert response.json()["current_version"] == 2


def test_matching_if_match_is_accepted(api, new_case):
    case = new_case()
    response = transition(api, case.pk, "start_analysis", **{"If-Match": '"1"'})
    assert response.status_code == 200


def test_unknown_case_returns_404(api):
    assert transition(api, uuid.uuid4(), "start_analysis").status_code == 404
    assert api.get(f"/case/{uuid.uuid4()}").status_code == 404
    assert api.get("/case/not-a-uuid").status_code == 404
    assert api.get(f"/case/{uuid.uuid4()}/timeline").status_code == 404


def test_missing_credentials_return_401(anonymous_api):
    response = create(anonymous_api)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert anonymous_api.get("/case/").status_code == 401


def test_viewer_cannot_write_403(viewer_api):
    assert create(viewer_api).status_code == 403


def test_viewer_can_read(viewer_api, new_case):
    case = new_case()
    assert viewer_api.get(f"/case/{case.pk}").status_code == 200


def test_user_without_role_cannot_read_403(db):
    client = client_for(make_user("nobody"))
    assert client.get("/case/").status_code == 403


def test_list_filters_by_state_service_and_environment(api, new_case):
    a = new_case(service="checkout", environment="prod")
    new_case(service="search", environment="prod")
    transition(api, a.pk, "start_analysis")
    rows = api.get("/case/", {"state": "ANALYZING", "service": "checkout", "environment": "prod"})
    assert [row["id"] for row in rows.json()["results"]] == [str(a.pk)]


def test_detail_carries_etag(api, new_case):
    case = new_case()
    response = api.get(f"/case/{case.pk}")
    assert response["ETag"] == '"1"'
    assert response.json()["allowed_events"] == ["start_analysis", "park"]


def test_timeline_is_oldest_first_with_actor_and_reason(api, new_case):
    case = new_case()
    transition(api, case.pk, "start_analysis")
    transition(api, case.pk, "park", reason="waiting for vendor")
    rows = api.get(f"/case/{case.pk}/timeline").json()["results"]
    assert [r["event"] for r in rows] == ["create", "start_analysis", "park"]
    assert rows[2] | {"created_at": None, "id": None, "request_id": None, "data": None} == {
        "id": None,
        "event": "park",
        "from_state": "ANALYZING",
        "to_state": "PARKED",
        "actor": "olga",
        "reason": "waiting for vendor",
        "request_id": None,
        "data": None,
        "created_at": None,
    }


def test_idempotent_replay_returns_first_response_and_writes_nothing(api):
    first = create(api, **{"Idempotency-Key": "k-1"})
    counts = (OpsCase.objects.count(), CaseTimeline.objects.count(), Outbox.objects.count())
    again = create(api, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert (OpsCase.objects.count(), CaseTimeline.objects.count(), Outbox.objects.count()) == counts


def test_idempotent_replay_of_a_transition_does_not_fire_twice(api, new_case):
    case = new_case()
    transition(api, case.pk, "start_analysis", **{"Idempotency-Key": "t-1"})
    again = transition(api, case.pk, "start_analysis", **{"Idempotency-Key": "t-1"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert OpsCase.objects.get(pk=case.pk).version == 2


def test_key_order_in_the_body_does_not_change_the_fingerprint(api):
    create(api, {"title": "t", "service": "s", "environment": "e"}, **{"Idempotency-Key": "k-o"})
    again = api.generic(
        "POST",
        "/case/create",
        json.dumps({"environment": "e", "service": "s", "title": "t"}),
        content_type="application/json",
        headers={"Idempotency-Key": "k-o"},
    )
    assert again["Idempotent-Replayed"] == "true"


def test_same_key_with_different_body_returns_422(api):
    create(api, **{"Idempotency-Key": "k-2"})
    response = create(api, {**CASE, "title": "other"}, **{"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    assert OpsCase.objects.count() == 1


def test_same_key_still_in_flight_returns_409(api, operator):
    fingerprint_of_other = "0" * 64
    Idempotency.objects.create(
        owner=operator,
        key="k-3",
        method="POST",
        path="/case/create",
        fingerprint=fingerprint_of_other,
        expires_at="2999-01-01T00:00:00Z",
    )
    # Same request as the in-flight one: compute its real fingerprint by replaying shape.
    from aiops.idempotency import fingerprint

    Idempotency.objects.filter(key="k-3").update(
        fingerprint=fingerprint(
            method="POST",
            path="/case/create",
            body=json.dumps(CASE).encode(),
            owner_id=operator.pk,
        )
    )
    response = create(api, **{"Idempotency-Key": "k-3"})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-in-flight")


def test_keys_are_scoped_per_caller(api, db):
    create(api, **{"Idempotency-Key": "shared"})
    other = client_for(make_user("otto", "operator"))
    response = create(other, **{"Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert OpsCase.objects.count() == 2


def test_a_refused_request_is_replayed_as_refused(api, new_case):
    case = new_case()
    first = transition(api, case.pk, "resume", **{"Idempotency-Key": "r-1"})
    again = transition(api, case.pk, "resume", **{"Idempotency-Key": "r-1"})
    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"


def test_superuser_may_do_everything(db):
    admin = User.objects.create_superuser("root", password="x")
    assert create(client_for(admin)).status_code == 201


def test_plan_ready_guard_refuses_without_a_plan(api, new_case):
    case = new_case()
    transition(api, case.pk, "start_analysis")
    deliver_outbox()
    response = transition(api, case.pk, "EPlanReady")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/guard-failed")


def test_a_case_can_be_driven_to_executing(new_case):
    from tests.conftest import drive_to_executing

    assert drive_to_executing(new_case()).state == "EXECUTING"


def test_no_list_page_is_larger_than_the_maximum(api, new_case, settings):
    settings.API_MAX_PAGE_SIZE = 3
    for _ in range(5):
        new_case()
    body = api.get("/case/?limit=100000").json()
    assert body["count"] == 5
    assert len(body["results"]) == 3
    assert "offset=3" in body["next"]


def test_the_timeline_is_paginated_oldest_first(api, new_case, settings):
    settings.API_MAX_PAGE_SIZE = 2
    case = new_case()
    transition(api, case.pk, "start_analysis")
    transition(api, case.pk, "park", reason="waiting for vendor")
    first = api.get(f"/case/{case.pk}/timeline?limit=100000").json()
    assert first["count"] == 3
    assert [r["event"] for r in first["results"]] == ["create", "start_analysis"]
    rest = api.get(first["next"]).json()
    assert [r["event"] for r in rest["results"]] == ["park"]
    assert rest["next"] is None
