"""Thin HTTP layer over the executor services."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from apps.executor import logstore, selectors, services
from apps.executor.api.serializers import (
    ExecRequestSerializer,
    ExecRunSerializer,
    PlanPreviewSerializer,
    RunListQuerySerializer,
    StepOutputQuerySerializer,
    StepOutputSerializer,
)
from apps.executor.preview import preview_plan


class ExecStartView(APIView):
    @extend_schema(
        request=ExecRequestSerializer,
        responses={202: ExecRunSerializer},
        parameters=[IDEMPOTENCY_KEY],
        description="Run the case's approved plan. 409 unless the case is EXECUTING with an "
        "approved plan and no active run (the active run's id is in `run_id`).",
    )
    @idempotent
    def post(self, request):
        payload = ExecRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.exec_start(
            case_id=payload.validated_data["case_id"], actor=actor_name(request.user)
        )
        run = selectors.run_get(run.pk)
        return Response(
            ExecRunSerializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("exec-run-detail", args=[run.pk])},
        )


class ExecRunListView(generics.ListAPIView):
    serializer_class = ExecRunSerializer

    @extend_schema(parameters=[RunListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = RunListQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.run_list(query.validated_data.get("case_id")).prefetch_related("steps")


class ExecRunDetailView(APIView):
    @extend_schema(responses={200: ExecRunSerializer})
    def get(self, request, run_id):
        return Response(ExecRunSerializer(selectors.run_get(run_id)).data)


class StepOutputView(APIView):
    @extend_schema(
        responses={200: StepOutputSerializer},
        parameters=[StepOutputQuerySerializer],
    )
    def get(self, request, step_id):
        query = StepOutputQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        step = selectors.step_get(step_id)
        tail_bytes = query.validated_data.get("tail")
        return Response(
            {
                "step": step.pk,
                "status": step.status,
                "stdout": logstore.read(step.stdout_ref, tail_bytes=tail_bytes),
                "stderr": logstore.read(step.stderr_ref, tail_bytes=tail_bytes),
            }
        )


class PlanPreviewView(APIView):
    @extend_schema(
        responses={200: PlanPreviewSerializer},
        description="What each step of the plan (forward, then rollback) would do, found "
        "without changing anything: Kubernetes PATCHes sent with dryRun=All and diffed, "
        "script argv, HTTP requests (secrets as references). Nothing runs or is sent.",
    )
    def get(self, request, plan_id):
        plan = selectors.plan_get(plan_id)
        return Response(
            {
                "plan": plan.pk,
                "case": plan.case_id,
                "revision": plan.revision,
                "steps": preview_plan(plan),
            }
        )
