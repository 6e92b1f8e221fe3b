"""Input the fuzzer (tests/test_fuzz.py) found mishandled: each is now a 400 or 415 problem,
never a 500 nor a quietly different answer; and the schema documents those errors."""

import json

import pytest

from tests.conftest import client_for, make_user

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str = ""):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    if slug:
        assert response.json()["type"].endswith("/" + slug)


CASE = {"title": "t", "service": "checkout", "environment": "staging"}


@pytest.mark.parametrize(
    "body",
    [
        {**CASE, "labels": {"pod\u0000": "a"}},  # NUL in a key
        {**CASE, "params": {"note": ["a\u0000b"]}},  # NUL deep in a value
        {**CASE, "params": {"\ud871": 1}},  # a lone surrogate
    ],
)
def test_strings_postgres_cannot_store_are_a_400_not_a_500(api, body):
    # Sent as escapes (backslash-u0000, backslash-ud871), as a client's JSON carries them.
    response = api.post("/case/create", json.dumps(body), content_type="application/json")
    assert_problem(response, 400, "malformed-request")


def test_an_upper_case_surrogate_escape_is_a_400(api):
    body = json.dumps({**CASE, "description": "x"}).replace('"x"', '"\\uDC00"')
    response = api.post("/case/create", body, content_type="application/json")
    assert_problem(response, 400, "malformed-request")


def test_an_escaped_backslash_before_u0000_is_text_not_nul(api):
    # The JSON text `\\u0000` is a backslash and "u0000": storable, so accepted.
    response = api.post(
        "/case/create",
        json.dumps({**CASE, "description": "\\u0000"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["description"] == "\\u0000"


def test_a_utf16_body_with_nul_is_a_400(api):
    body = json.dumps({**CASE, "labels": {"pod": "a\u0000"}}).encode("utf-16")
    response = api.generic(
        "POST", "/case/create", body, content_type="application/json; charset=utf-16"
    )
    assert_problem(response, 400, "malformed-request")


def test_a_yaml_plan_with_nul_is_a_400(api, new_case):
    response = api.generic(
        "POST",
        "/plan/generate",
        f'case_id: "{new_case().pk}"\ntemplate: "restart\\0"\n',
        content_type="application/yaml",
    )
    assert_problem(response, 400, "malformed-request")


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "offset=-1", "offset=null"])
def test_a_bad_page_is_refused_not_read_as_the_first(viewer_api, query):
    assert_problem(viewer_api.get(f"/case/?{query}"), 400, "invalid-request")


@pytest.mark.parametrize("case_id", ["", "nope"])
def test_runs_of_a_case_id_that_is_no_uuid_are_a_400_not_every_run(viewer_api, case_id):
    assert_problem(viewer_api.get(f"/adapter/runs?case_id={case_id}"), 400, "invalid-request")


@pytest.mark.parametrize("tail", ["abc", "-1", "%C2%B2"])  # ² is a digit int() refuses
def test_a_bad_tail_is_a_400(viewer_api, tail):
    assert_problem(viewer_api.get(f"/adapter/steps/1/output?tail={tail}"), 400)


def test_a_form_body_is_unsupported(db):
    # A multipart body the parser could not read used to leave `engaged` false: a POST of
    # garbage lifted the kill switch.
    approver = client_for(make_user("alma", "approver"))
    response = approver.post("/gate/kill-switch", {"engaged": "true"}, format="multipart")
    assert_problem(response, 415, "unsupported-media-type")


def test_the_schema_documents_problem_responses(viewer_api):
    schema = viewer_api.get("/api/schema/?format=json").json()
    assert "Problem" in schema["components"]["schemas"]
    create = schema["paths"]["/case/create"]["post"]
    for status in ("400", "401", "403", "404", "409", "413", "415", "422", "429"):
        assert PROBLEM in create["responses"][status]["content"], status
    detail = schema["paths"]["/case/{case_id}"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(detail) and "415" not in detail
    assert "412" in schema["paths"]["/case/{case_id}/transition"]["patch"]["responses"]
    title = schema["components"]["schemas"]["CaseCreateRequest"]["properties"]["title"]
    assert (title["minLength"], title["pattern"]) == (1, r"\S")  # "  " is refused as blank
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}


@pytest.mark.parametrize(
    "body",
    [
        {**CASE, "service": 42},  # DRF's CharField made it "42"
        {**CASE, "template": 1.5},
    ],
)
def test_a_number_for_text_is_a_400(api, body):
    assert_problem(api.post("/case/create", body), 400, "invalid-request")


def test_an_integer_for_a_uuid_is_a_400(api):
    # DRF's UUIDField read it as uuid.UUID(int=...).
    assert_problem(api.post("/gate/eval", {"case_id": 7}), 400, "invalid-request")


@pytest.mark.parametrize("engaged", ["true", 1, "on"])
def test_the_kill_switch_takes_only_a_json_boolean(db, engaged):
    approver = client_for(make_user("alma", "approver"))
    response = approver.post("/gate/kill-switch", {"engaged": engaged, "reason": "r"})
    assert_problem(response, 400, "invalid-request")
