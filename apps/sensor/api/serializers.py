"""The Sensor's API shapes. Request bodies are validated by the pure modules (points,
patterns, hints, locators) so every item's errors can be listed; the serializers here
document them for the OpenAPI schema and render the evidence chain."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiops.serializers import ModelSerializer
from apps.sensor import locators, selectors
from apps.sensor.models import EvidenceLink, OoLocator


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}]})
class TimestampField(serializers.Field):
    """Documents a timestamp only: ISO 8601 text or Unix seconds."""


class PatternCountSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100)
    pattern_id = serializers.CharField(max_length=200)
    template = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    ts = TimestampField(help_text="ISO 8601 timestamp or Unix seconds; counted in its 5 minutes")
    count = serializers.IntegerField(min_value=0, max_value=10**12)


class PatternCountsResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="pattern counts in the request")
    stored = serializers.IntegerField(help_text="(service, pattern, bucket) rows upserted")


class LogLineSerializer(serializers.Serializer):
    ts = TimestampField(help_text="ISO 8601 timestamp or Unix seconds")
    line = serializers.CharField(help_text="the raw log line")


class LogBatchSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100)
    lines = LogLineSerializer(many=True)


class MinedPatternSerializer(serializers.Serializer):
    service = serializers.CharField()
    pattern_id = serializers.CharField(help_text="drain-<cluster id>, stable per service")
    template = serializers.CharField()
    count = serializers.IntegerField(help_text="lines of this request with this template")


class LogsResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="lines in the request")
    patterns = MinedPatternSerializer(many=True)


class LocatorInSerializer(serializers.Serializer):
    system = serializers.ChoiceField(choices=locators.SYSTEMS)
    # Blank stream and query read as absent.
    stream = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="openobserve stream or elasticsearch index pattern",
    )
    query = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="PromQL, LogQL, SQL or KQL"
    )
    labels = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=200), required=False
    )
    url = serializers.URLField(required=False, max_length=2000, help_text="only for system url")

    def get_fields(self):
        fields = super().get_fields()
        # `from` is a keyword: declared here, documented like any other field.
        fields["from"] = TimestampField(required=False, help_text="start of the time range")
        fields["to"] = TimestampField(required=False, help_text="end of the time range")
        return fields


class TargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["case", "finding", "step"])
    id = serializers.CharField(max_length=100)
    case_id = serializers.UUIDField(
        required=False, help_text="the case the target belongs to (required for a step)"
    )


class HintInSerializer(serializers.Serializer):
    target = TargetSerializer()
    locators = LocatorInSerializer(many=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class LocatorSerializer(ModelSerializer):
    href = serializers.SerializerMethodField()
    why = serializers.SerializerMethodField()

    class Meta:
        model = OoLocator
        fields = [
            "id",
            "system",
            "stream",
            "query",
            "time_from",
            "time_to",
            "labels",
            "url",
            "href",
            "why",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_href(self, locator) -> str | None:
        return self._rendered(locator)[0]

    @extend_schema_field(serializers.CharField(help_text="why there is no href"))
    def get_why(self, locator) -> str:
        return self._rendered(locator)[1]

    def _rendered(self, locator):
        return selectors.evidence_href(locator)


class EvidenceLinkSerializer(ModelSerializer):
    locator = LocatorSerializer(read_only=True)

    class Meta:
        model = EvidenceLink
        fields = [
            "id",
            "target_kind",
            "target_id",
            "case_id",
            "note",
            "created_at",
            "created_by",
            "locator",
        ]
