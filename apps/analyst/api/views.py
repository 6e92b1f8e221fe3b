"""The Analyst over HTTP: the Alertmanager webhook, on-demand passes, findings."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.permissions import CanIngest, ReadOrOperate
from aiops.problems import BadRequest, Problem
from aiops.serializers import ModelSerializer
from apps.analyst import metrics, services
from apps.analyst.alertmanager import Mapping, parse_webhook
from apps.analyst.models import AnalysisFinding, AnalysisRule
from apps.analyst.scan import run_pass


class InvalidAlerts(Problem):
    status, slug, title = 400, "invalid-alerts", "The Alertmanager webhook is invalid"


WEBHOOK_EXAMPLE = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "aiops",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "checkout"},
    "commonAnnotations": {"summary": "checkout 5xx above 5 %"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "checkout 5xx above 5 %", "runbook_url": "https://…"},
            "startsAt": "2026-12-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=…",
            "fingerprint": "3c2a1b0f9e8d7c6b",
        }
    ],
}


_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_TEXT = {"type": "string"}
WEBHOOK_SCHEMA = {
    "type": "object",
    "description": "Alertmanager's webhook body, payload version 4 (apps/analyst/alertmanager.py).",
    "required": ["version", "alerts"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string", "enum": ["4"]},
        "groupKey": _TEXT,
        "truncatedAlerts": {"type": "integer"},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "receiver": _TEXT,
        "groupLabels": _STRINGS,
        "commonLabels": _STRINGS,
        "commonAnnotations": _STRINGS,
        "externalURL": _TEXT,
        "alerts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "labels", "startsAt"],
                "additionalProperties": False,
                "properties": {
                    "status": {"type": "string", "enum": ["firing", "resolved"]},
                    "labels": _STRINGS,
                    "annotations": _STRINGS,
                    "startsAt": {"type": "string", "format": "date-time"},
                    "endsAt": {"type": "string", "format": "date-time"},
                    "generatorURL": _TEXT,
                    "fingerprint": {"type": "string", "minLength": 1, "maxLength": 64},
                },
            },
        },
    },
}


class AlertmanagerWebhookView(APIView):
    """POST /ingest/alertmanager: point an Alertmanager `webhook_config` here with an ingest
    token (`authorization: {type: Token, credentials: …}`). Natural idempotency: an alert
    episode is its fingerprint and startsAt, so a redelivered group changes nothing."""

    permission_classes = [CanIngest]
    throttle_scope = "ingest"

    @extend_schema(
        request={"application/json": WEBHOOK_SCHEMA},
        responses={
            200: inline_serializer(
                "AlertmanagerResult",
                {
                    "received": serializers.IntegerField(),
                    "opened": serializers.IntegerField(help_text="new firing findings"),
                    "resolved": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(help_text="redeliveries and repeats"),
                },
            )
        },
        examples=[OpenApiExample("one firing alert", value=WEBHOOK_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        mapping = Mapping(
            service_labels=settings.ALERT_SERVICE_LABELS,
            environment_labels=settings.ALERT_ENVIRONMENT_LABELS,
            default_environment=settings.ALERT_DEFAULT_ENVIRONMENT,
            known_services=settings.KNOWN_SERVICES,
        )
        with metrics.webhook_seconds.time():
            alerts, errors = parse_webhook(
                request.data, mapping=mapping, max_alerts=settings.ALERTS_MAX
            )
            if errors:
                metrics.alerts_rejected_total.inc()
                shown = errors[: settings.INGEST_MAX_ERRORS_SHOWN]
                raise InvalidAlerts(
                    f"{len(errors)} problem(s) in the webhook; nothing was stored.",
                    errors=[e.as_dict() for e in shown],
                    errors_truncated=len(errors) > len(shown),
                )
            counts = services.alerts_ingest(alerts)
        for outcome, n in counts.items():
            metrics.alerts_total.labels(outcome=outcome).inc(n)
        return Response({"received": len(request.data["alerts"]), **counts})


class AnalyzeRunSerializer(serializers.Serializer):
    service = serializers.CharField(required=False, max_length=100, default="")
    rule = serializers.CharField(required=False, max_length=100, default="")
    at = serializers.DateTimeField(required=False, default=None, help_text="the minute judged")

    def validate_rule(self, value):
        if value and not AnalysisRule.objects.filter(name=value).exists():
            raise serializers.ValidationError(f"No rule '{value}'.")
        return value


class AnalyzeRunView(APIView):
    """POST /analyze/run: one pass now (or at `at`), narrowed to a service or a rule;
    returns the findings it opened and resolved. Waits for a pass already running."""

    permission_classes = [ReadOrOperate]

    @extend_schema(
        request=AnalyzeRunSerializer,
        responses={
            200: inline_serializer(
                "AnalyzeRunResult",
                {
                    "at": serializers.DateTimeField(),
                    "series": serializers.IntegerField(),
                    "evaluations": serializers.IntegerField(),
                    "opened": serializers.ListField(child=serializers.DictField()),
                    "resolved": serializers.ListField(child=serializers.DictField()),
                    "firing": serializers.IntegerField(),
                    "seconds": serializers.FloatField(),
                },
            )
        },
    )
    def post(self, request):
        body = AnalyzeRunSerializer(data=request.data)
        if not body.is_valid():
            raise BadRequest("The pass's parameters are invalid.", errors=body.errors)
        at: datetime | None = body.validated_data["at"]
        result = run_pass(
            at=at,
            service=body.validated_data["service"],
            rule=body.validated_data["rule"],
            wait=True,
        )
        return Response(result.as_dict())


class FindingSerializer(ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = AnalysisFinding
        fields = [
            "id",
            "fingerprint",
            "source",
            "rule",
            "kind",
            "service",
            "environment",
            "metric",
            "labels",
            "severity",
            "status",
            "observed",
            "baseline",
            "score",
            "window_start",
            "window_end",
            "summary",
            "detail",
            "started_at",
            "last_seen_at",
            "resolved_at",
        ]


class FindingListView(generics.ListAPIView):
    """GET /analyze/findings?status=&service=: newest first."""

    serializer_class = FindingSerializer
    permission_classes = [ReadOrOperate]

    def get_queryset(self):
        query = AnalysisFinding.objects.select_related("rule").order_by("-started_at")
        for name in ("status", "service", "source"):
            if self.request.query_params.get(name):
                query = query.filter(**{name: self.request.query_params[name]})
        return query
