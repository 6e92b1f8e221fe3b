"""plan_proposed: each revision of a case's plan, as an aiops/v1 Plan document (JSON)."""

import uuid

from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase


class PlanProposed(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="plans")
    revision = models.PositiveIntegerField()
    template = models.CharField(max_length=50, blank=True, default="")
    document = models.JSONField(help_text="The aiops/v1 Plan, as validated")
    schema_valid = models.BooleanField(default=False)
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_factors = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=150)
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

    def missing_parts(self) -> list[str]:
        """What keeps this plan from being ready: [] when it may go to the gate."""
        missing = []
        if not self.schema_valid:
            missing.append("a schema-valid plan")
        if not self.spec.get("steps"):
            missing.append("at least one step in spec.steps")
        if not self.spec.get("rollback"):
            missing.append("at least one rollback step in spec.rollback")
        if not (self.spec.get("verify") or {}).get("checks"):
            missing.append("at least one check in spec.verify.checks")
        return missing
