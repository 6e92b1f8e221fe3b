"""GET /verify/{case_id}/checkpoints: the verdicts on a case, newest verification first."""

from rest_framework import generics

from apps.cases.selectors import case_get
from apps.verifier import selectors
from apps.verifier.api.serializers import CheckpointSerializer
from apps.verifier.models import VerifyCheckpoint


class CheckpointListView(generics.ListAPIView):
    serializer_class = CheckpointSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no case
            return VerifyCheckpoint.objects.none()
        return selectors.case_checkpoints(case_get(self.kwargs["case_id"]))
