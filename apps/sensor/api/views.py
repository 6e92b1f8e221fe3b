"""POST /ingest/metrics: a JSON array of points → metric_1m (DESIGN §5, Sensor). Needs the
ingest role (a service token: `manage.py create_ingest_token <name>`)."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from aiops.permissions import CanIngest
from aiops.problems import Problem
from apps.sensor import metrics, services
from apps.sensor.points import parse_points


class InvalidPoints(Problem):
    status, slug, title = 400, "invalid-points", "Some points are invalid"


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}]})
class TimestampField(serializers.Field):
    """Documents `ts` only (apps.sensor.points parses the points): text or a number."""


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
        raw = request.data
        points, errors = parse_points(
            raw,
            now=timezone.now(),
            max_points=settings.INGEST_MAX_POINTS,
            max_future=timedelta(seconds=settings.INGEST_MAX_FUTURE_SECONDS),
            max_age=timedelta(days=settings.METRIC_RETENTION_DAYS),
        )
        if errors:
            metrics.ingest_rejected_total.labels(kind="metrics").inc()
            shown = errors[: settings.INGEST_MAX_ERRORS_SHOWN]
            raise InvalidPoints(
                f"{len(errors)} problem(s) in the batch; nothing was stored.",
                errors=[e.as_dict() for e in shown],
                errors_truncated=len(errors) > len(shown),
            )
        stored = services.metrics_upsert(points=points)
        metrics.ingest_points_total.labels(kind="metrics").inc(len(points))
        metrics.ingest_seconds.labels(kind="metrics").observe(time.perf_counter() - started)
        return Response({"received": len(raw), "stored": stored}, status=status.HTTP_200_OK)
