"""GET /verify/{case_id}/checkpoints: the verdicts on a case, newest verification first.
GET /verify/checks/stats: how each dry-run check would have decided."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.cases.selectors import case_get
from apps.verifier import selectors
from apps.verifier.api.serializers import (
    CheckpointSerializer,
    CheckStatsQuerySerializer,
    CheckStatsSerializer,
)
from apps.verifier.models import VerifyCheckpoint


class CheckpointListView(generics.ListAPIView):
    serializer_class = CheckpointSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no case
            return VerifyCheckpoint.objects.none()
        return selectors.case_checkpoints(case_get(self.kwargs["case_id"]))


class CheckStatsView(APIView):
    @extend_schema(
        parameters=[CheckStatsQuerySerializer],
        responses={200: CheckStatsSerializer(many=True)},
        description="Each dry-run check (by plan template and check name) judged in the last "
        "`days` days: evaluations and how many would have failed the verification, so a "
        "team can see when a check is ready to enforce (most evaluated first, at most 500).",
    )
    def get(self, request):
        query = CheckStatsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        since = timezone.now() - timedelta(days=query.validated_data["days"])
        return Response(selectors.dry_run_check_stats(since=since))
