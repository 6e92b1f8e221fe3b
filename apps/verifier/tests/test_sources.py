"""source_for(check) picks a metric source from aiops.registry (no database, no network)."""

import pytest

from aiops import registry
from aiops.registry import SourceSpec
from apps.verifier.evaluate import Check
from apps.verifier.sources import Metric1mSource, PrometheusSource, SourceError, source_for


def check(**fields) -> Check:
    raw = {"name": "c", "aggregate": "avg", "operator": "<", "threshold": 1, **fields}
    return Check.from_plan(raw)


class StubSource:
    spec = SourceSpec(name="stub", reads=("metric",), description="a throwaway source")
    name = spec.name

    @classmethod
    def from_settings(cls):
        return cls()


@pytest.fixture
def prometheus(settings):
    settings.PROMETHEUS_URL = "http://prometheus.invalid:9090"
    return settings


def test_both_sources_are_registered_in_order():
    assert [spec.name for spec in registry.source_specs()] == ["metric_1m", "prometheus"]


def test_a_metric_check_reads_metric_1m_by_default(prometheus):
    assert isinstance(source_for(check(metric="http_p95_ms")), Metric1mSource)


def test_a_promql_check_reads_prometheus(prometheus):
    source = source_for(check(promql="sum(rate(x[1m]))"))
    assert isinstance(source, PrometheusSource)
    assert source.url == "http://prometheus.invalid:9090"


def test_the_configured_source_reads_metric_checks(prometheus):
    prometheus.VERIFY_METRIC_SOURCE = "prometheus"
    assert isinstance(source_for(check(metric="http_p95_ms")), PrometheusSource)


def test_prometheus_without_a_url_is_a_source_error(settings):
    settings.PROMETHEUS_URL = ""
    with pytest.raises(SourceError, match="PROMETHEUS_URL is not set"):
        source_for(check(promql="up"))


def test_a_registered_source_is_selected_by_the_setting(settings):
    settings.VERIFY_METRIC_SOURCE = "stub"
    registry.register_source(StubSource.spec, implementation=StubSource)
    try:
        assert isinstance(source_for(check(metric="m")), StubSource)
    finally:
        registry.unregister_source("stub")
    assert isinstance(source_for(check(metric="m")), Metric1mSource)
