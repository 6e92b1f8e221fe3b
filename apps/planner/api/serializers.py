from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiops import strict
from aiops.serializers import ModelSerializer
from apps.planner import dsl
from apps.planner.models import PlanProposed
from apps.planner.templates import TEMPLATES


@extend_schema_field(
    {"oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}]}
)
class PlanDocumentField(serializers.JSONField):
    """Any JSON to the serializer (the Planner parses and judges it); null is refused."""


class PlanGenerateSerializer(serializers.Serializer):
    case_id = strict.UUID()
    template = serializers.ChoiceField(choices=TEMPLATES, required=False)
    params = serializers.DictField(required=False)
    plan = PlanDocumentField(
        required=False, help_text="An aiops/v1 Plan: an object, or YAML/JSON text"
    )


class PlanSerializer(ModelSerializer):
    case_id = serializers.UUIDField(read_only=True)
    case_state = serializers.CharField(source="case.state", read_only=True)
    ready = serializers.SerializerMethodField()
    missing = serializers.SerializerMethodField()

    class Meta:
        model = PlanProposed
        fields = [
            "id",
            "case_id",
            "case_state",
            "revision",
            "template",
            "risk_score",
            "risk_factors",
            "references",
            "similar_cases",
            "track_record",
            "ready",
            "missing",
            "document",
            "created_by",
            "created_at",
        ]

    def get_ready(self, plan) -> bool:
        return not dsl.missing_parts(plan.document)

    def get_missing(self, plan) -> list[str]:
        return dsl.missing_parts(plan.document)
