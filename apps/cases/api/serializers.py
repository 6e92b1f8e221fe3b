from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiops import strict
from aiops.serializers import ModelSerializer
from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline, OpsCase, Severity


class CaseCreateSerializer(serializers.Serializer):
    title = strict.Text(max_length=200)
    service = strict.Text(max_length=100)
    environment = strict.Text(max_length=50)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV3)
    description = strict.Text(required=False, allow_blank=True, default="")
    # min_length states in the schema what allow_blank=False enforces: drf-spectacular
    # publishes a blank ban on a field, not on a dict's values.
    labels = serializers.DictField(child=strict.Text(min_length=1), required=False, default=dict)
    template = strict.Text(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="A plan template (restart, canary, scale_out, rollback, incident): the case "
        "then starts by itself and the loop runs as far as the environment's autopilot allows",
    )
    params = serializers.DictField(
        required=False, default=dict, help_text="Parameters of the template"
    )


@extend_schema_field({"type": "string", "enum": wf.known_event_names()})
class EventNameField(strict.Text):
    """Text to the serializer: an unknown name is the service's 400 (`unknown-event`, with
    `known_events`); the schema publishes the names it knows."""


class TransitionSerializer(serializers.Serializer):
    event = EventNameField(max_length=64, help_text="API or seed event name")
    reason = strict.Text(required=False, allow_blank=True, default="", max_length=2000)


class VerifyDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["rollback", "accept"],
        help_text="rollback: run the plan's rollback steps; accept: keep the change and close.",
    )
    reason = strict.Text(required=False, allow_blank=True, default="", max_length=2000)


class CaseSerializer(ModelSerializer):
    allowed_events = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = OpsCase
        fields = [
            "id",
            "title",
            "service",
            "environment",
            "severity",
            "description",
            "labels",
            "template",
            "params",
            "state",
            "version",
            "allowed_events",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_allowed_events(self, case) -> list[str]:
        return wf.allowed_events(case.state)


class TimelineSerializer(ModelSerializer):
    class Meta:
        model = CaseTimeline
        fields = [
            "id",
            "event",
            "from_state",
            "to_state",
            "actor",
            "reason",
            "request_id",
            "data",
            "created_at",
        ]
        read_only_fields = fields
