"""Attack: an oversized request body is refused with 413 before it is read; nothing is written."""

import json

import pytest

from apps.cases.models import OpsCase
from apps.planner.models import PlanProposed
from tests.conftest import sample_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return 1000


def assert_refused(response, limit):
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/request-too-large")
    assert body["max_bytes"] == limit


def test_an_oversized_case_is_refused_and_not_created(api, small_limit):
    case = {"title": "x" * 2000, "service": "checkout", "environment": "staging"}
    assert_refused(
        api.generic("POST", "/case/create", json.dumps(case), content_type="application/json"),
        small_limit,
    )
    assert not OpsCase.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_an_oversized_plan_is_refused_and_not_stored(api, new_case, small_limit, content_type):
    case = new_case()
    plan = sample_plan()
    plan["metadata"]["description"] = "x" * 2000
    response = api.generic(
        "POST", f"/plan/generate?case_id={case.pk}", json.dumps(plan), content_type=content_type
    )
    assert_refused(response, small_limit)
    assert not PlanProposed.objects.exists()


def test_a_body_within_the_limit_is_served(api, small_limit):
    case = {"title": "t", "service": "checkout", "environment": "staging"}
    response = api.post("/case/create", case, format="json")
    assert response.status_code == 201
