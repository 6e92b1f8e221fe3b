"""plan_proposed: each revision of a case's plan, as an aiops/v1 Plan document (JSON)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase


class PlanProposed(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="plans")
    revision = models.PositiveIntegerField()
    template = models.CharField(max_length=50, blank=True, default="")
    document = models.JSONField(help_text="The aiops/v1 Plan, as validated")
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_factors = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=150)
    # Four-eyes compares user ids; a plan the loop proposed by itself has no requester.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The case's version when proposed: the Planner proposes once per pass through PLANNING.
    case_version = models.PositiveIntegerField(default=0)
    # From the Librarian at proposal time: the runbooks that cover the case (document,
    # section, score, rollback hint), the most similar past cases, and how each kind of
    # change fared on them (docs/librarian.md).
    references = models.JSONField(default=list, blank=True)
    similar_cases = models.JSONField(default=list, blank=True)
    track_record = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "plan_proposed"
        verbose_name = "plan"
        ordering = ["case", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["case", "revision"], name="plan_case_revision_uniq")
        ]

    def __str__(self):
        return f"plan r{self.revision} of {self.case_id}"

    @property
    def spec(self) -> dict:
        return self.document.get("spec", {})
