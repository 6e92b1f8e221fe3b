"""Metric source port: where a check's per-minute values come from.

`fetch(check, service=, window=)` returns the matching series as `MinuteSeries` with one
point per minute bucket of `window`, or raises `SourceError`. Two implementations:
`Metric1mSource` (the metric_1m table, default) and `PrometheusSource` (PromQL over
/api/v1/query_range). `source_for(check)` picks one from the check and the settings.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Protocol

import requests
from django.conf import settings

from apps.verifier.evaluate import MINUTE, Check, MinuteSeries, Window


class SourceError(Exception):
    """The source could not answer (unreachable, bad query, misconfigured)."""


class MetricSource(Protocol):
    name: str

    def describe(self, check: Check, *, service: str) -> str: ...

    def fetch(self, check: Check, *, service: str, window: Window) -> list[MinuteSeries]: ...


class Metric1mSource:
    """Reads metric_1m rows of the case's service, the check's metric and label filter."""

    name = "metric_1m"

    def describe(self, check: Check, *, service: str) -> str:
        labels = json.dumps(check.labels, sort_keys=True) if check.labels else ""
        return f"{service}/{check.metric}{labels}"

    def fetch(self, check: Check, *, service: str, window: Window) -> list[MinuteSeries]:
        from apps.sensor.models import Metric1m

        if not check.metric:
            raise SourceError("a promql check needs the prometheus source")
        rows = Metric1m.objects.filter(
            service=service, metric=check.metric, minute__gte=window.start, minute__lt=window.end
        )
        if check.labels:
            rows = rows.filter(labels__contains=check.labels)
        series: dict[str, MinuteSeries] = {}
        for labels, minute, value in rows.order_by("minute").values_list(
            "labels", "minute", "value"
        ):
            key = json.dumps(labels, sort_keys=True)
            series.setdefault(key, MinuteSeries(labels=labels, points=[]))
            series[key].points.append((minute, value))
        return list(series.values())


class PrometheusSource:
    """Evaluates PromQL at the end of each window minute (step 60 s): the value at instant t
    is the value of the minute bucket [t - 60 s, t). A check with only a `metric` becomes the
    selector `metric{<service label>="<service>", <labels>}`."""

    name = "prometheus"

    def __init__(self, url: str, *, timeout: float = 10, service_label: str = "service"):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.service_label = service_label

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


def source_for(check: Check) -> MetricSource:
    """A promql check (or any check when VERIFY_METRIC_SOURCE=prometheus) reads Prometheus;
    the rest read metric_1m. Raises SourceError when Prometheus is needed but not set."""
    if check.promql or settings.VERIFY_METRIC_SOURCE == "prometheus":
        if not settings.PROMETHEUS_URL:
            raise SourceError("PROMETHEUS_URL is not set")
        return PrometheusSource(
            settings.PROMETHEUS_URL,
            timeout=settings.PROMETHEUS_TIMEOUT_S,
            service_label=settings.PROMETHEUS_SERVICE_LABEL,
        )
    return Metric1mSource()
