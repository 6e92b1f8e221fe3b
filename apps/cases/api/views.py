"""Thin HTTP layer over the Orchestrator services (DESIGN §3)."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from apps.cases import selectors, services
from apps.cases.api.filters import CaseFilter
from apps.cases.api.serializers import (
    CaseCreateSerializer,
    CaseSerializer,
    TimelineSerializer,
    TransitionSerializer,
    VerifyDecisionSerializer,
)
from apps.cases.models import CaseTimeline

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)


def parse_if_match(header: str | None) -> int | None:
    """`"3"`, `W/"3"` or `3` → 3; `*` or absent → None; anything else can never match → -1."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    return int(value) if value.isdigit() else -1


def case_response(case, status_code=status.HTTP_200_OK, headers=None) -> Response:
    return Response(
        CaseSerializer(case).data,
        status=status_code,
        headers={"ETag": case.etag, **(headers or {})},
    )


class CaseCreateView(APIView):
    @extend_schema(
        request=CaseCreateSerializer, responses={201: CaseSerializer}, parameters=[IDEMPOTENCY_KEY]
    )
    @idempotent
    def post(self, request):
        payload = CaseCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.case_create(actor=request.user, **payload.validated_data)
        location = reverse("case-detail", args=[case.pk])
        return case_response(case, status.HTTP_201_CREATED, {"Location": location})


class CaseTransitionView(APIView):
    @extend_schema(
        request=TransitionSerializer,
        responses={200: CaseSerializer},
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
    )
    @idempotent
    def patch(self, request, case_id):
        payload = TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.case_transition(
            case_id=case_id,
            event=payload.validated_data["event"],
            reason=payload.validated_data["reason"],
            actor=actor_name(request.user),
            if_match=parse_if_match(request.headers.get("If-Match")),
        )
        return case_response(case)


class CaseVerifyDecisionView(APIView):
    @extend_schema(
        request=VerifyDecisionSerializer,
        responses={200: CaseSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="Settle a failed verification the case waits on (the policy's "
        "on_verify_fail: pause, or an inconclusive verification): `rollback` runs the plan's "
        "rollback steps (the case stays PARKED), `accept` keeps the change and closes the case "
        "(recorded as the verification overridden). 409 no-verify-decision otherwise.",
    )
    @idempotent
    def post(self, request, case_id):
        payload = VerifyDecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.verify_decide(
            case_id=case_id,
            decision=payload.validated_data["decision"],
            reason=payload.validated_data["reason"],
            actor=actor_name(request.user),
        )
        return case_response(selectors.case_get(case.pk))


class CaseListView(generics.ListAPIView):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter

    def get_queryset(self):
        return selectors.case_list().select_related("created_by")


class CaseDetailView(APIView):
    @extend_schema(responses={200: CaseSerializer})
    def get(self, request, case_id):
        return case_response(selectors.case_get(case_id))


class CaseTimelineView(generics.ListAPIView):
    serializer_class = TimelineSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no case
            return CaseTimeline.objects.none()
        return selectors.case_timeline(selectors.case_get(self.kwargs["case_id"]))
