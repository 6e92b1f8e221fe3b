"""POST /ingest/metrics at its limits: too many points, too large a body, too old or too new."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sensor.models import Metric1m

pytestmark = pytest.mark.django_db


def body(count: int) -> str:
    point = {"service": "checkout", "metric": "http_p95_ms", "ts": 1764245400, "value": 1}
    return json.dumps([point] * count)


def test_more_points_than_allowed_returns_400(ingest_api, settings):
    settings.INGEST_MAX_POINTS = 10
    response = ingest_api.generic(
        "POST", "/ingest/metrics", body(11), content_type="application/json"
    )
    assert response.status_code == 400
    assert "At most 10 points" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "big"}])
def test_a_body_over_the_upload_limit_returns_413_problem(ingest_api, settings, headers):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = ingest_api.generic(
        "POST", "/ingest/metrics", body(100), content_type="application/json", headers=headers
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/request-too-large")
    assert Metric1m.objects.count() == 0


def test_points_past_the_retention_or_the_future_skew_are_refused_and_nothing_stored(
    ingest_api,
):
    now = timezone.now()
    points = [
        {"service": "checkout", "metric": "http_p95_ms", "ts": ts.isoformat(), "value": 1}
        for ts in (now - timedelta(days=15), now + timedelta(days=1), now - timedelta(minutes=2))
    ]
    response = ingest_api.post("/ingest/metrics", points, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(0, "ts"), (1, "ts")]
    assert "Older than the metric retention" in errors[0]["message"]
    assert "in the future" in errors[1]["message"]
    assert Metric1m.objects.count() == 0
