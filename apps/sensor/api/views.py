"""The Sensor's API (DESIGN §5, docs/sensor.md). POST /ingest/metrics, /ingest/log-patterns,
/ingest/logs and /ingest/hint need the ingest role (a service token: `manage.py
create_ingest_token <name>`); GET /case/{id}/evidence is read by any role that reads."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from aiops.permissions import CanIngest
from apps.cases.selectors import case_get
from apps.sensor import hints, metrics, patterns, selectors, services
from apps.sensor.api import serializers as shapes
from apps.sensor.api.serializers import TimestampField
from apps.sensor.exceptions import InvalidHint, InvalidLogPatterns, InvalidLogs, InvalidPoints
from apps.sensor.models import EvidenceLink
from apps.sensor.points import decode_plain, parse_points

POINTS = inline_serializer(
    "MetricPoint",
    many=True,
    fields={
        "service": serializers.CharField(max_length=100),
        "metric": serializers.CharField(max_length=200),
        "labels": serializers.DictField(child=serializers.CharField(), required=False),
        "ts": TimestampField(help_text="ISO 8601 timestamp or Unix seconds"),
        "value": serializers.FloatField(),
    },
)


class IngestMetricsView(APIView):
    permission_classes = [CanIngest]
    # Its own per-user rate (AIOPS_THROTTLE_INGEST): a feeder's batches are not user writes.
    throttle_scope = "ingest"

    @extend_schema(
        request=POINTS,
        responses={
            200: inline_serializer(
                "IngestMetricsResult",
                {
                    "received": serializers.IntegerField(help_text="points in the request"),
                    "stored": serializers.IntegerField(
                        help_text="series-minutes upserted (repeats in a batch collapse)"
                    ),
                },
            )
        },
        parameters=[IDEMPOTENCY_KEY],
        # One point each: drf-spectacular publishes the example of a many=True body as a list
        # of the value given.
        examples=[
            OpenApiExample(
                "a point at Unix seconds",
                request_only=True,
                value={
                    "service": "checkout",
                    "metric": "http_p95_ms",
                    "ts": 1764245400,
                    "value": 212,
                },
            ),
            OpenApiExample(
                "a labelled point at an ISO 8601 time",
                request_only=True,
                value={
                    "service": "checkout",
                    "metric": "http_error_rate",
                    "labels": {"pod": "checkout-1"},
                    "ts": "2026-11-27T12:10:00Z",
                    "value": 0.4,
                },
            ),
        ],
    )
    @idempotent
    def post(self, request):
        started = time.perf_counter()
        limits = {
            "now": timezone.now(),
            "max_points": settings.INGEST_MAX_POINTS,
            "max_future": timedelta(seconds=settings.INGEST_MAX_FUTURE_SECONDS),
            "max_age": timedelta(days=settings.METRIC_RETENTION_DAYS),
        }
        # A body of plain points in plain JSON skips the generic decode (points.decode_plain);
        # any other goes through the request's parser and the check that words each error.
        plain = None
        if request.META.get("CONTENT_TYPE") == "application/json":
            plain = decode_plain(request.body, **limits)
        if plain is None:
            raw = request.data
            points, errors = parse_points(raw, **limits)
            if errors:
                metrics.ingest_rejected_total.labels(kind="metrics").inc()
                raise InvalidPoints.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
            received = len(raw)
        else:
            points, received = plain
        stored = services.metrics_upsert(points=points)
        metrics.ingest_points_total.labels(kind="metrics").inc(len(points))
        metrics.ingest_seconds.labels(kind="metrics").observe(time.perf_counter() - started)
        return Response({"received": received, "stored": stored}, status=status.HTTP_200_OK)


def _window(retention_days: int) -> patterns.Window:
    return patterns.Window.around(
        timezone.now(),
        max_future=timedelta(seconds=settings.INGEST_MAX_FUTURE_SECONDS),
        max_age=timedelta(days=retention_days),
    )


class IngestLogPatternsView(APIView):
    """Pattern counts the caller mined itself → log_pattern_5m. Counts add up: a redelivery
    must carry the first request's Idempotency-Key, or it is counted twice."""

    permission_classes = [CanIngest]
    throttle_scope = "ingest"

    @extend_schema(
        request=shapes.PatternCountSerializer(many=True),
        responses={200: shapes.PatternCountsResultSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "a pattern seen 12 times",
                request_only=True,
                value={
                    "service": "checkout",
                    "pattern_id": "conn-refused",
                    "template": "connection refused to <IP>",
                    "ts": "2026-11-27T12:10:00Z",
                    "count": 12,
                },
            )
        ],
    )
    @idempotent
    def post(self, request):
        started = time.perf_counter()
        raw = request.data
        counts, errors = patterns.parse_pattern_counts(
            raw,
            window=_window(settings.LOG_PATTERN_RETENTION_DAYS),
            max_items=settings.INGEST_MAX_PATTERNS,
        )
        if errors:
            metrics.ingest_rejected_total.labels(kind="log-patterns").inc()
            raise InvalidLogPatterns.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
        stored = services.log_patterns_add(counts=counts)
        metrics.ingest_points_total.labels(kind="log-patterns").inc(len(counts))
        metrics.ingest_seconds.labels(kind="log-patterns").observe(time.perf_counter() - started)
        return Response({"received": len(raw), "stored": stored}, status=status.HTTP_200_OK)


class IngestLogsView(APIView):
    """Raw log lines → Drain3 templates → log_pattern_5m (apps.sensor.mining)."""

    permission_classes = [CanIngest]
    throttle_scope = "ingest"

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="Logs",
            serializers=[shapes.LogBatchSerializer, shapes.LogBatchSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={200: shapes.LogsResultSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "two lines of one service",
                request_only=True,
                value={
                    "service": "checkout",
                    "lines": [
                        {"ts": "2026-11-27T12:10:03Z", "line": "timeout calling payments 10.0.0.7"},
                        {"ts": 1764245410, "line": "timeout calling payments 10.0.0.9"},
                    ],
                },
            )
        ],
    )
    @idempotent
    def post(self, request):
        started = time.perf_counter()
        batches, errors = patterns.parse_log_batches(
            request.data,
            window=_window(settings.LOG_PATTERN_RETENTION_DAYS),
            max_lines=settings.INGEST_MAX_LOG_LINES,
            max_line_length=settings.INGEST_MAX_LINE_LENGTH,
        )
        if errors:
            metrics.ingest_rejected_total.labels(kind="logs").inc()
            raise InvalidLogs.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
        found = services.logs_mine(batches=batches)
        received = sum(len(batch.lines) for batch in batches)
        metrics.ingest_points_total.labels(kind="logs").inc(received)
        metrics.ingest_seconds.labels(kind="logs").observe(time.perf_counter() - started)
        return Response({"received": received, "patterns": found}, status=status.HTTP_200_OK)


class IngestHintView(APIView):
    """Where the evidence for a case, finding or step can be seen → oo_locator + evidence_link."""

    permission_classes = [CanIngest]
    throttle_scope = "ingest"

    @extend_schema(
        request=shapes.HintInSerializer,
        responses={
            201: inline_serializer(
                "HintResult", {"links": shapes.EvidenceLinkSerializer(many=True)}
            )
        },
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "a PromQL query as evidence for a case",
                request_only=True,
                value={
                    "target": {"kind": "case", "id": "0b7c9a52-3f4e-4a53-9a55-4b4f6a1e2c11"},
                    "locators": [
                        {
                            "system": "prometheus",
                            "query": 'rate(http_errors_total{service="checkout"}[5m])',
                            "from": "2026-11-27T12:00:00Z",
                            "to": "2026-11-27T12:30:00Z",
                        }
                    ],
                    "note": "p95 over 300 ms since the 12:05 deploy",
                },
            )
        ],
    )
    @idempotent
    def post(self, request):
        kwargs, errors = hints.unpack_body(request.data)
        if errors:
            # List what is wrong inside too, not only the shape (nothing is written either way).
            more = _hint_errors(kwargs) if kwargs else []
            raise InvalidHint.listing(errors + more, shown=settings.INGEST_MAX_ERRORS_SHOWN)
        links = services.hint_write(**kwargs, actor=actor_name(request.user))
        body = {"links": shapes.EvidenceLinkSerializer(links, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)


def _hint_errors(kwargs: dict) -> list:
    return hints.check_hint(
        **kwargs,
        max_locators=settings.HINT_MAX_LOCATORS,
        max_range=timedelta(days=settings.HINT_MAX_RANGE_DAYS),
    )[1]


class CaseEvidenceView(generics.ListAPIView):
    """GET /case/{id}/evidence: the evidence chain of a case, oldest first, each locator with
    a link into its system's UI (`href`, or null and `why`)."""

    serializer_class = shapes.EvidenceLinkSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no case
            return EvidenceLink.objects.none()
        return selectors.case_evidence(case_get(self.kwargs["case_id"]))
