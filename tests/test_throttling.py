"""Per-user request rates (aiops.throttling): one request over the rate gets 429
problem+json with Retry-After, and has no effect."""

import pytest
from django.utils import timezone
from limits.storage import RedisStorage

from aiops import throttling
from apps.cases.models import OpsCase
from apps.sensor.models import Metric1m
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

CASE = {"title": "checkout p95 up", "service": "checkout", "environment": "staging"}
POINT = {"service": "checkout", "metric": "http_p95_ms", "value": 1.0}


@pytest.fixture
def rates(settings):
    """Rates tiny enough to reach, on counts no earlier run left in the shared cache."""
    settings.THROTTLE_RATES = {"writes": "2/min", "ingest": "1/min"}

    def fresh(user):
        throttling.forget(user.pk)
        return user

    return fresh


def assert_throttled(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_write_over_the_rate_is_refused_with_retry_after_and_changes_nothing(rates):
    api = client_for(rates(make_user("olga", "operator")))
    for _ in range(2):
        assert api.post("/case/create", CASE, format="json").status_code == 201
    assert_throttled(api.post("/case/create", CASE, format="json"))
    assert OpsCase.objects.count() == 2
    assert api.get("/case/").status_code == 200  # reads are not throttled


def test_counts_live_in_redis_shared_by_every_process():
    assert isinstance(throttling.limiter().storage, RedisStorage)


def test_rates_are_per_user(rates):
    olga = client_for(rates(make_user("olga", "operator")))
    oscar = client_for(rates(make_user("oscar", "operator")))
    for _ in range(2):
        olga.post("/case/create", CASE, format="json")
    assert olga.post("/case/create", CASE, format="json").status_code == 429
    assert oscar.post("/case/create", CASE, format="json").status_code == 201


def test_ingest_has_its_own_rate(rates):
    feeder = client_for(rates(make_user("metrics-bridge", "ingest")))
    point = POINT | {"ts": timezone.now().isoformat()}
    assert feeder.post("/ingest/metrics", [point], format="json").status_code == 200
    assert_throttled(feeder.post("/ingest/metrics", [point | {"value": 2.0}], format="json"))
    assert list(Metric1m.objects.values_list("value", flat=True)) == [1.0]
