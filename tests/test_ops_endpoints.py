import pytest

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_credentials(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    body = client.get("/readyz").json()
    assert body == {"status": "ok", "database": "ok", "broker": "ok"}


def test_openapi_schema_lists_case_endpoints(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/case/create" in schema["paths"]
    assert "/case/{case_id}/transition" in schema["paths"]


def test_swagger_ui_is_served(admin_client):
    assert admin_client.get("/api/docs/").status_code == 200


def test_admin_case_list_filters_by_state(admin_client, new_case):
    new_case()
    response = admin_client.get("/admin/cases/opscase/?state__exact=NEW")
    assert response.status_code == 200
    assert b"checkout p95 up" in response.content


def test_admin_case_page_shows_timeline(admin_client, new_case):
    case = new_case()
    response = admin_client.get(f"/admin/cases/opscase/{case.pk}/change/")
    assert response.status_code == 200
    assert b"create" in response.content


def test_an_unknown_url_answers_404_problem_json(client):
    response = client.get("/no/such/endpoint")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


def test_admin_case_page_links_to_the_cases_plans_and_decisions(admin_client, new_case):
    from tests.conftest import drive_to_executing

    case = drive_to_executing(new_case())
    page = admin_client.get(f"/admin/cases/opscase/{case.pk}/change/").content.decode()
    assert f'href="/admin/planner/planproposed/?case={case.pk}">1 plan</a>' in page
    assert f'href="/admin/gate/gatedecision/?case={case.pk}">1 gate decision</a>' in page
    listing = admin_client.get(f"/admin/planner/planproposed/?case={case.pk}")
    assert listing.status_code == 200
