"""Metric source port: where a check's per-minute values come from.

`fetch(check, service=, window=)` returns the matching series as `MinuteSeries` with one
point per minute bucket of `window`, or raises `SourceError`. Each source class declares
itself in its `spec` (`aiops.registry.SourceSpec`: name, the check fields it reads) and
builds itself from settings (`from_settings()`); `register_all()` (VerifierConfig.ready)
registers the classes of `SOURCES`, and `source_for(check)` picks one from the registry.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Protocol

import requests
from django.conf import settings
from django.db import connection

from aiops import registry
from aiops.prepared import prepared
from aiops.registry import SourceSpec
from apps.verifier.evaluate import MINUTE, Check, MinuteSeries, Window


class SourceError(Exception):
    """The source could not answer (unreachable, bad query, misconfigured)."""


class MetricSource(Protocol):
    name: str

    def describe(self, check: Check, *, service: str) -> str: ...

    def fetch(self, check: Check, *, service: str, window: Window) -> list[MinuteSeries]: ...


class Metric1mSource:
    """Reads metric_1m rows of the case's service, the check's metric and label filter."""

    spec = SourceSpec(
        name="metric_1m",
        reads=("metric",),
        description="the metric_1m table (fed by POST /ingest/metrics): rows of the case's "
        "service and the check's metric, `labels` as a containment filter",
    )
    name = spec.name

    @classmethod
    def from_settings(cls) -> Metric1mSource:
        return cls()

    def describe(self, check: Check, *, service: str) -> str:
        labels = json.dumps(check.labels, sort_keys=True) if check.labels else ""
        return f"{service}/{check.metric}{labels}"

    def fetch(self, check: Check, *, service: str, window: Window) -> list[MinuteSeries]:
        if not check.metric:
            raise SourceError("a promql check needs the prometheus source")
        args = (service, check.metric, window.start, window.end)
        rows = _minutes_labelled(*args, _json(check.labels)) if check.labels else _minutes(*args)
        series: dict[str, MinuteSeries] = {}
        for labels, minute, value in rows:
            key = json.dumps(labels, sort_keys=True)
            series.setdefault(key, MinuteSeries(labels=labels, points=[]))
            series[key].points.append((minute, value))
        return list(series.values())


def _json(value):
    from apps.sensor.models import MetricSeries

    return MetricSeries._meta.get_field("labels").get_db_prep_value(value, connection)


def _metric_minutes(service, metric, start, end):
    from apps.sensor.models import Metric1m

    return Metric1m.objects.filter(
        series__service=service, series__metric=metric, minute__gte=start, minute__lt=end
    )


@prepared
def _minutes(service, metric, start, end):
    rows = _metric_minutes(service, metric, start, end)
    return rows.order_by("minute").values_list("series__labels", "minute", "value")


@prepared
def _minutes_labelled(service, metric, start, end, labels):
    rows = _metric_minutes(service, metric, start, end).filter(series__labels__contains=labels)
    return rows.order_by("minute").values_list("series__labels", "minute", "value")


class PrometheusSource:
    """Evaluates PromQL at the end of each window minute (step 60 s): the value at instant t
    is the value of the minute bucket [t - 60 s, t). A check with only a `metric` becomes the
    selector `metric{<service label>="<service>", <labels>}`."""

    spec = SourceSpec(
        name="prometheus",
        reads=("promql", "metric"),
        description="PromQL over PROMETHEUS_URL's /api/v1/query_range (step 60 s); a metric "
        'check becomes `metric{<AIOPS_PROMETHEUS_SERVICE_LABEL>="<service>", <labels>}`',
    )
    name = spec.name

    def __init__(self, url: str, *, timeout: float = 10, service_label: str = "service"):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.service_label = service_label

    @classmethod
    def from_settings(cls) -> PrometheusSource:
        if not settings.PROMETHEUS_URL:
            raise SourceError("PROMETHEUS_URL is not set")
        return cls(
            settings.PROMETHEUS_URL,
            timeout=settings.PROMETHEUS_TIMEOUT_S,
            service_label=settings.PROMETHEUS_SERVICE_LABEL,
        )

    def describe(self, check: Check, *, service: str) -> str:
        return self.query(check, service=service)

    def query(self, check: Check, *, service: str) -> str:
        if check.promql:
            return check.promql
        matchers = {self.service_label: service, **check.labels}
        inner = ",".join(f"{name}={_quote(value)}" for name, value in sorted(matchers.items()))
        return f"{check.metric}{{{inner}}}"

    def fetch(self, check: Check, *, service: str, window: Window) -> list[MinuteSeries]:
        params = {
            "query": self.query(check, service=service),
            "start": (window.start + MINUTE).timestamp(),
            "end": window.end.timestamp(),
            "step": "60s",
        }
        try:
            response = requests.get(
                f"{self.url}/api/v1/query_range", params=params, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise SourceError(f"prometheus unreachable: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"prometheus answered HTTP {response.status_code}") from None
        if body.get("status") != "success":
            raise SourceError(f"prometheus: {body.get('errorType')}: {body.get('error')}")
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise SourceError(f"prometheus returned a {data.get('resultType')}, not a matrix")
        return [_series(item) for item in data.get("result", [])]


def _series(item: dict) -> MinuteSeries:
    points = []
    for stamp, raw in item.get("values", []):
        value = float(raw)
        if math.isfinite(value):
            bucket = datetime.fromtimestamp(float(stamp), tz=UTC) - MINUTE
            points.append((bucket.replace(second=0, microsecond=0), value))
    return MinuteSeries(labels=item.get("metric", {}), points=points)


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# Registered in this order: the first source reading a field is that field's default.
SOURCES = (Metric1mSource, PrometheusSource)


def register_all() -> None:
    for source in SOURCES:
        registry.register_source(source.spec, implementation=source)


def source_for(check: Check) -> MetricSource:
    """The source of `check`. Its field ("promql" when set, else "metric") selects the
    configured source (AIOPS_VERIFY_METRIC_SOURCE) if that one reads the field, else the first
    registered source that does: a promql check reads Prometheus, a metric check metric_1m
    unless Prometheus is configured. Raises SourceError when no source reads the field or the
    chosen one is not configured (PROMETHEUS_URL unset)."""
    field = "promql" if check.promql else "metric"
    readers = [spec for spec in registry.source_specs() if field in spec.reads]
    if not readers:
        raise SourceError(f"no metric source reads {field} checks")
    chosen = next((s for s in readers if s.name == settings.VERIFY_METRIC_SOURCE), readers[0])
    return registry.sources.implementation(chosen.name).from_settings()
