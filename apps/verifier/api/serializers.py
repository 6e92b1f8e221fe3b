from rest_framework import serializers

from aiops.serializers import ModelSerializer
from apps.verifier.models import VerifyCheckpoint


class CheckpointSerializer(ModelSerializer):
    class Meta:
        model = VerifyCheckpoint
        fields = [
            "id",
            "verification_id",
            "position",
            "check_name",
            "result",
            "dry_run",
            "sentence",
            "source",
            "query",
            "aggregate",
            "operator",
            "threshold",
            "for_minutes",
            "observed",
            "max_increase_pct",
            "baseline",
            "change_pct",
            "window_start",
            "window_end",
            "minutes_with_data",
            "minutes_breached",
            "longest_breach",
            "minute_values",
            "plan",
            "created_at",
        ]


class CheckStatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=366, default=30, help_text="The window: the last N days."
    )


class CheckStatsSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The plan template ('' for hand-written plans).")
    name = serializers.CharField(help_text="The check's name in the plan.")
    evaluations = serializers.IntegerField()
    would_have_failed = serializers.IntegerField(help_text="Judged fail while dry run.")
    would_have_failed_rate = serializers.FloatField()
    inconclusive = serializers.IntegerField()
    last_evaluated = serializers.DateTimeField()
