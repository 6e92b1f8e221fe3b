from rest_framework import serializers

from aiops import strict
from aiops.serializers import ModelSerializer
from apps.executor.models import ExecRun, ExecStep


class ExecRequestSerializer(serializers.Serializer):
    case_id = strict.UUID()


class ExecStepSerializer(ModelSerializer):
    duration_s = serializers.FloatField(read_only=True)

    class Meta:
        model = ExecStep
        fields = [
            "id",
            "phase",
            "index",
            "step_id",
            "adapter",
            "action",
            "attempt",
            "idempotent",
            "message_id",
            "status",
            "worker",
            "host",
            "queued_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "lease_expires_at",
            "duration_s",
            "exit_code",
            "result",
            "error",
            "stdout_ref",
            "stderr_ref",
        ]


class ExecRunSerializer(ModelSerializer):
    case = serializers.UUIDField(source="case_id", read_only=True)
    steps = ExecStepSerializer(many=True, read_only=True)
    duration_s = serializers.FloatField(read_only=True)

    class Meta:
        model = ExecRun
        fields = [
            "id",
            "case",
            "status",
            "phase",
            "cancel_requested",
            "reason",
            "actor",
            "created_at",
            "started_at",
            "finished_at",
            "duration_s",
            "steps",
        ]


class StepOutputSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    status = serializers.CharField()
    stdout = serializers.CharField(allow_blank=True)
    stderr = serializers.CharField(allow_blank=True)


class StepOutputQuerySerializer(serializers.Serializer):
    # Validated, not read leniently: `?tail=abc` (or `²`, a digit int() refuses) is a 400.
    tail = serializers.IntegerField(
        min_value=0, required=False, help_text="Only the last `tail` bytes of each stream"
    )


class RunListQuerySerializer(serializers.Serializer):
    # `?case_id=` that is not a UUID is a 400. The view passes `query_params.dict()`: given
    # a QueryDict, DRF takes a blank value for an absent one and would list every run.
    case_id = serializers.UUIDField(required=False, help_text="Only this case's runs")


class StepPreviewSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=["forward", "rollback"])
    index = serializers.IntegerField()
    step_id = serializers.CharField()
    adapter = serializers.CharField()
    action = serializers.CharField()
    target = serializers.CharField(help_text="What the step touches: a Deployment, host, script.")
    summary = serializers.CharField()
    detail = serializers.JSONField(help_text="The dry-run diff, argv or request.")
    refused = serializers.CharField(help_text="Why the step would be refused, or empty.")


class PlanPreviewSerializer(serializers.Serializer):
    plan = serializers.UUIDField()
    case = serializers.UUIDField()
    revision = serializers.IntegerField()
    steps = StepPreviewSerializer(many=True)
