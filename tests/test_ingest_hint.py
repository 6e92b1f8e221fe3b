"""POST /ingest/hint and services.hint_write: locators and their links in one transaction,
per-item errors, a missing case is 404, redelivery, roles."""

import uuid

import pytest
from django.db import transaction

from apps.cases.exceptions import CaseNotFound
from apps.sensor import services
from apps.sensor.exceptions import InvalidHint
from apps.sensor.models import EvidenceLink, OoLocator
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

PROM = {
    "system": "prometheus",
    "query": 'rate(http_errors_total{service="checkout"}[5m])',
    "from": "2026-11-27T12:00:00Z",
    "to": "2026-11-27T12:30:00Z",
}
LINK = {"system": "url", "url": "https://status.example/incidents/42"}


def hint(target, *locators, **fields):
    return {"target": target, "locators": list(locators or [PROM]), **fields}


def post(client, body, **headers):
    return client.post("/ingest/hint", body, format="json", headers=headers)


def nothing_written():
    return OoLocator.objects.count() == 0 and EvidenceLink.objects.count() == 0


def test_a_hint_on_a_case_stores_each_locator_and_its_link(ingest_api, new_case):
    case = new_case()
    body = hint({"kind": "case", "id": str(case.pk)}, PROM, LINK, note="since the deploy")
    response = post(ingest_api, body)
    assert response.status_code == 201
    links = response.json()["links"]
    assert [link["locator"]["system"] for link in links] == ["prometheus", "url"]
    assert links[1]["locator"]["href"] == LINK["url"]
    rows = list(EvidenceLink.objects.order_by("id"))
    assert [(r.target_kind, r.target_id, r.case_id) for r in rows] == [
        ("case", str(case.pk), case.pk)
    ] * 2
    assert {r.created_by for r in rows} == {"metrics-bridge"}
    assert rows[0].note == "since the deploy"
    assert rows[0].locator.query == PROM["query"]


def test_a_step_hint_needs_the_case_it_belongs_to(ingest_api, new_case):
    response = post(ingest_api, hint({"kind": "step", "id": "42"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "target.case_id"
    case = new_case()
    response = post(ingest_api, hint({"kind": "step", "id": "42", "case_id": str(case.pk)}))
    assert response.status_code == 201
    assert EvidenceLink.objects.get().case_id == case.pk


def test_a_finding_hint_needs_no_case(ingest_api):
    assert post(ingest_api, hint({"kind": "finding", "id": "f-7"})).status_code == 201
    assert EvidenceLink.objects.get().case_id is None


@pytest.mark.parametrize(
    "target",
    [
        {"kind": "case", "id": "00000000-0000-4000-8000-000000000000"},
        {"kind": "step", "id": "1", "case_id": "00000000-0000-4000-8000-000000000000"},
        {"kind": "finding", "id": "f-1", "case_id": "00000000-0000-4000-8000-000000000000"},
    ],
)
def test_a_hint_naming_a_case_that_does_not_exist_is_404_and_writes_nothing(ingest_api, target):
    response = post(ingest_api, hint(target))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/case-not-found")
    assert nothing_written()


def test_invalid_locators_return_400_listing_every_problem_and_write_nothing(ingest_api, new_case):
    case = new_case()
    body = hint(
        {"kind": "case", "id": str(case.pk)},
        PROM,
        {"system": "prometheus", "from": PROM["to"], "to": PROM["from"]},
        {"system": "url", "url": "javascript:alert(1)"},
        {"system": "splunk", "query": "x", "colour": "red"},
        {**PROM, "to": "2027-06-01T00:00:00Z"},
    )
    response = post(ingest_api, body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"].endswith("/invalid-hint")
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "query"),
        (1, "to"),
        (2, "url"),
        (3, "colour"),
        (3, "system"),
        (3, "from"),
        (3, "to"),
        (4, "to"),
    ]
    assert nothing_written()


def test_shape_errors_and_content_errors_are_listed_together(ingest_api):
    body = {"target": {"kind": "case", "id": "x", "extra": 1}, "locators": [], "more": 1}
    response = post(ingest_api, body)
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (-1, "more"),
        (-1, "target.extra"),
        (-1, "target.id"),
        (-1, "locators"),
    ]
    assert post(ingest_api, ["not", "an", "object"]).status_code == 400
    assert nothing_written()


def test_too_many_locators_return_400(ingest_api, settings):
    settings.HINT_MAX_LOCATORS = 2
    response = post(ingest_api, hint({"kind": "finding", "id": "f"}, PROM, PROM, PROM))
    assert response.status_code == 400
    assert "At most 2 locators" in response.json()["errors"][0]["message"]
    assert nothing_written()


def test_a_redelivered_hint_with_its_idempotency_key_is_stored_once(ingest_api):
    key = {"Idempotency-Key": "hint-1"}
    first = post(ingest_api, hint({"kind": "finding", "id": "f-1"}), **key)
    again = post(ingest_api, hint({"kind": "finding", "id": "f-1"}), **key)
    assert again.status_code == first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert EvidenceLink.objects.count() == 1


def test_only_the_ingest_role_writes_hints(viewer_api, api, anonymous_api):
    approver = client_for(make_user("alice", "approver"))
    body = hint({"kind": "finding", "id": "f-1"})
    assert post(anonymous_api, body).status_code == 401
    for client in (viewer_api, api, approver):
        assert post(client, body).status_code == 403
    assert nothing_written()


def test_hint_write_joins_the_callers_transaction(new_case):
    case = new_case()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.hint_write(
            target_kind="case", target_id=str(case.pk), locators=[PROM], actor="analyst"
        )
        raise RuntimeError("the Analyst's transaction fails later")
    assert nothing_written()


def test_hint_write_raises_invalid_hint_with_the_errors():
    with pytest.raises(InvalidHint) as raised:
        services.hint_write(
            target_kind="step", target_id="1", locators=[{"system": "loki"}], actor="analyst"
        )
    fields = [e["field"] for e in raised.value.extra["errors"]]
    assert fields == ["target.case_id", "query", "from", "to"]


def test_hint_write_raises_case_not_found_for_an_unknown_case():
    with pytest.raises(CaseNotFound):
        services.hint_write(
            target_kind="case", target_id=str(uuid.uuid4()), locators=[LINK], actor="analyst"
        )
    assert nothing_written()
