from rest_framework import serializers

from apps.verifier.models import VerifyCheckpoint


class CheckpointSerializer(serializers.ModelSerializer):
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
