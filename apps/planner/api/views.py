"""Planner HTTP API: propose a plan, read a plan, serve the Plan JSON Schema."""

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from aiops.parsers import StorableJSONParser
from aiops.problems import NotFound
from apps.planner import dsl, selectors, services
from apps.planner.api.parsers import LegacyYAMLParser, TextYAMLParser, YAMLParser
from apps.planner.api.serializers import PlanGenerateSerializer, PlanSerializer


class PlanGenerateView(APIView):
    parser_classes = [StorableJSONParser, YAMLParser, LegacyYAMLParser, TextYAMLParser]

    @extend_schema(
        request=PlanGenerateSerializer,
        responses={201: PlanSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description=(
            "Propose the next plan revision from a template (restart, canary, scale_out, "
            "rollback, incident) or a hand-written aiops/v1 Plan (JSON object, or YAML/JSON "
            "text in `plan`). The body may also be YAML (Content-Type: application/yaml)."
        ),
    )
    @idempotent
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        if "apiVersion" in body:  # the body is the plan itself; the case comes in the query
            body = {"case_id": request.query_params.get("case_id"), "plan": body}
        payload = PlanGenerateSerializer(data=body)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        plan = services.plan_generate(
            case_id=data["case_id"],
            actor=actor_name(request.user),
            template=data.get("template"),
            params=data.get("params"),
            document=data.get("plan"),
            requested_by=request.user,
        )
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailView(APIView):
    @extend_schema(responses={200: PlanSerializer})
    def get(self, request, plan_id):
        plan = selectors.plan_get(plan_id) if _is_uuid(plan_id) else None
        if plan is None:
            raise NotFound(f"No plan {plan_id}.")
        return Response(PlanSerializer(plan).data)


class PlanSchemaView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(dsl.schema())


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
