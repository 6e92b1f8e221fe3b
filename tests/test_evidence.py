"""GET /case/{id}/evidence: the evidence chain of a case (its own links, its findings', its
steps'), each locator with a link into its system's UI."""

import uuid

import pytest

from apps.sensor import services
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

PROM = {"system": "prometheus", "query": "up", "from": 1764245400, "to": 1764249000}
LOKI = {"system": "loki", "query": '{app="checkout"}', "from": 1764245400, "to": 1764249000}


def write(kind, target_id, *locators, case_id=None, note=""):
    return services.hint_write(
        target_kind=kind,
        target_id=target_id,
        case_id=case_id,
        locators=list(locators),
        note=note,
        actor="analyst",
    )


def evidence(client, case):
    response = client.get(f"/case/{case.pk}/evidence")
    assert response.status_code == 200
    return response.json()


def test_the_chain_holds_the_case_its_findings_and_its_steps(viewer_api, new_case):
    finding = str(uuid.uuid4())
    case = new_case(labels={"findings": [finding, "f-2"], "finding": {"id": "f-3", "rule": "z"}})
    other = new_case(title="another case")
    write("case", str(case.pk), PROM, note="the breach")
    write("finding", finding.upper(), LOKI)  # the same id, however it is spelled
    write("finding", "f-2", PROM)
    write("finding", "f-3", PROM)
    write("step", "7", PROM, case_id=case.pk)
    write("case", str(other.pk), PROM)
    write("step", "7", PROM, case_id=other.pk)
    write("finding", "f-unrelated", PROM)
    body = evidence(viewer_api, case)
    assert body["count"] == 5
    assert [(r["target_kind"], r["target_id"]) for r in body["results"]] == [
        ("case", str(case.pk)),
        ("finding", finding),
        ("finding", "f-2"),
        ("finding", "f-3"),
        ("step", "7"),
    ]
    assert body["results"][0]["note"] == "the breach"
    assert body["results"][0]["created_by"] == "analyst"


def test_a_case_without_findings_in_its_labels_shows_its_own_links(viewer_api, new_case):
    case = new_case(labels={"findings": "not-a-list", "finding": "not-an-object"})
    write("case", str(case.pk), PROM)
    assert evidence(viewer_api, case)["count"] == 1
    bare = new_case(title="bare")
    assert evidence(viewer_api, bare) == {"count": 0, "next": None, "previous": None, "results": []}


def test_locators_link_into_the_configured_uis(viewer_api, new_case, settings):
    settings.PROMETHEUS_URL = "http://prometheus:9090"
    settings.PROMETHEUS_UI_URL = ""
    settings.GRAFANA_URL = ""
    case = new_case()
    write("case", str(case.pk), PROM, LOKI)
    prom, loki = (r["locator"] for r in evidence(viewer_api, case)["results"])
    assert prom["href"].startswith("http://prometheus:9090/graph?g0.expr=up&")
    assert prom["why"] == ""
    assert loki["href"] is None
    assert "AIOPS_GRAFANA_URL" in loki["why"]
    settings.PROMETHEUS_UI_URL = "https://prom.example"
    settings.GRAFANA_URL = "https://grafana.example"
    prom, loki = (r["locator"] for r in evidence(viewer_api, case)["results"])
    assert prom["href"].startswith("https://prom.example/graph?")
    assert loki["href"].startswith("https://grafana.example/explore?")


def test_an_unknown_case_is_404(viewer_api):
    for case_id in (uuid.uuid4(), "not-a-uuid"):
        response = viewer_api.get(f"/case/{case_id}/evidence")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_readers_read_the_evidence_and_ingest_tokens_do_not(
    viewer_api, api, ingest_api, anonymous_api, new_case
):
    case = new_case()
    url = f"/case/{case.pk}/evidence"
    approver = client_for(make_user("alice", "approver"))
    for client in (viewer_api, api, approver):
        assert client.get(url).status_code == 200
    assert ingest_api.get(url).status_code == 403
    assert anonymous_api.get(url).status_code == 401
    assert api.post(url, {}, format="json").status_code == 405  # read-only


def test_the_schema_documents_the_sensor_endpoints(viewer_api):
    schema = viewer_api.get("/api/schema/?format=json").json()
    for path in ("/ingest/log-patterns", "/ingest/logs", "/ingest/hint"):
        assert "400" in schema["paths"][path]["post"]["responses"]
    assert "/case/{case_id}/evidence" in schema["paths"]
    locator = schema["components"]["schemas"]["Locator"]["properties"]
    assert {"href", "why"} <= set(locator)
