"""Gatekeeper HTTP API: policy evaluation, human approve/reject, the policy in force."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from aiops.permissions import IsApprover
from apps.gate import selectors, services
from apps.gate.api.serializers import (
    GateApproveSerializer,
    GateDecisionSerializer,
    GateEvalSerializer,
    GatePolicySerializer,
    GateRejectSerializer,
    KillSwitchSerializer,
    KillSwitchSetSerializer,
)


def _validated(serializer_class, request) -> dict:
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


class GateEvalView(APIView):
    @extend_schema(
        request=GateEvalSerializer,
        responses={200: GateDecisionSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="Judge the latest plan of a case in WAIT_GATE: approved, rejected (parks "
        "the case) or needs_human.",
    )
    @idempotent
    def post(self, request):
        data = _validated(GateEvalSerializer, request)
        decision = services.gate_eval(case_id=data["case_id"], actor=actor_name(request.user))
        return Response(GateDecisionSerializer(decision).data)


class KillSwitchView(APIView):
    def get_permissions(self):
        # Anyone with a role may see it; only approvers and superusers flip it.
        return (
            [IsApprover()] if self.request.method not in SAFE_METHODS else super().get_permissions()
        )

    @extend_schema(responses={200: KillSwitchSerializer})
    def get(self, request):
        return Response(KillSwitchSerializer(selectors.kill_switch()).data)

    @extend_schema(
        request=KillSwitchSetSerializer,
        responses={200: KillSwitchSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="Engage (with a reason) or lift the kill switch: while engaged nothing "
        "executes on its own and no run starts (approvers and superusers only).",
    )
    @idempotent
    def post(self, request):
        data = _validated(KillSwitchSetSerializer, request)
        switch = services.kill_switch_set(
            engaged=data["engaged"], actor=actor_name(request.user), reason=data["reason"]
        )
        return Response(KillSwitchSerializer(switch).data)


class GateApproveView(APIView):
    permission_classes = [IsApprover]

    @extend_schema(
        request=GateApproveSerializer,
        responses={200: GateDecisionSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="A human approves a plan that needs one (approvers only; four-eyes).",
    )
    @idempotent
    def post(self, request):
        data = _validated(GateApproveSerializer, request)
        decision = services.gate_approve(
            case_id=data["case_id"],
            user=request.user,
            actor=actor_name(request.user),
            comment=data["comment"],
        )
        return Response(GateDecisionSerializer(decision).data)


class GateRejectView(APIView):
    permission_classes = [IsApprover]

    @extend_schema(
        request=GateRejectSerializer,
        responses={200: GateDecisionSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="A human rejects a plan that needs a decision; the case parks.",
    )
    @idempotent
    def post(self, request):
        data = _validated(GateRejectSerializer, request)
        decision = services.gate_reject(
            case_id=data["case_id"],
            user=request.user,
            actor=actor_name(request.user),
            comment=data["comment"],
        )
        return Response(GateDecisionSerializer(decision).data)


class GatePolicyView(APIView):
    @extend_schema(responses={200: GatePolicySerializer})
    def get(self, request):
        return Response(GatePolicySerializer(selectors.policy_in_force()).data)
