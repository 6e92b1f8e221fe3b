from rest_framework import serializers

from aiops import strict
from aiops.serializers import ModelSerializer
from apps.gate.models import GateDecision, GatePolicy, KillSwitch


class GateEvalSerializer(serializers.Serializer):
    case_id = strict.UUID()


class GateApproveSerializer(serializers.Serializer):
    case_id = strict.UUID()
    comment = strict.Text(required=False, allow_blank=True, default="", max_length=2000)


class GateRejectSerializer(serializers.Serializer):
    case_id = strict.UUID()
    comment = strict.Text(max_length=2000)


class GateDecisionSerializer(ModelSerializer):
    case_id = serializers.UUIDField(read_only=True)
    case_state = serializers.CharField(source="case.state", read_only=True)
    plan_revision = serializers.IntegerField(source="plan.revision", read_only=True)

    class Meta:
        model = GateDecision
        fields = [
            "id",
            "case_id",
            "case_state",
            "plan_revision",
            "decision",
            "reasons",
            "policy_version",
            "risk",
            "latency_ms",
            "actor",
            "kind",
            "comment",
            "created_at",
        ]


class GatePolicySerializer(ModelSerializer):
    class Meta:
        model = GatePolicy
        fields = ["version", "document", "cedar", "source", "comment", "created_by", "created_at"]


class KillSwitchSetSerializer(serializers.Serializer):
    engaged = strict.Boolean()
    reason = strict.Text(required=False, allow_blank=True, default="", max_length=2000)


class KillSwitchSerializer(ModelSerializer):
    class Meta:
        model = KillSwitch
        fields = ["engaged", "reason", "changed_by", "changed_at"]
