"""gate_decision (every evaluation or human decision) and plan_approved (the go-ahead)."""

import uuid

from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase
from apps.planner.models import PlanProposed


class GateDecision(models.Model):
    APPROVED, REJECTED, NEEDS_HUMAN = "approved", "rejected", "needs_human"
    CHOICES = [(APPROVED, APPROVED), (REJECTED, REJECTED), (NEEDS_HUMAN, NEEDS_HUMAN)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="gate_decisions")
    plan = models.ForeignKey(PlanProposed, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=12, choices=CHOICES)
    reasons = models.JSONField(default=list, blank=True)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    risk = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    actor = models.CharField(max_length=150)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "gate_decision"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["case", "-created_at"], name="gate_decision_case_idx")]

    def __str__(self):
        return f"{self.decision} for {self.case_id}"


class PlanApproved(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="approvals")
    plan = models.OneToOneField(PlanProposed, on_delete=models.CASCADE, related_name="approval")
    decision = models.ForeignKey(GateDecision, on_delete=models.PROTECT, related_name="+")
    approved_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "plan_approved"
        verbose_name = "plan approval"

    def __str__(self):
        return f"approval of plan r{self.plan.revision} for {self.case_id}"


class GatePolicy(models.Model):
    """One version of the gate policy; the highest version is in force. Rows are never edited:
    saving in the admin (or a changed config/gate-policy.yaml) adds a version."""

    version = models.PositiveIntegerField(unique=True)
    document = models.JSONField(
        help_text="approval_ttl_minutes and environments (see config/gate-policy.yaml)"
    )
    cedar = models.TextField(blank=True, default="", help_text="Optional Cedar policies")
    source = models.CharField(
        max_length=100, help_text="file:<sha256 of the YAML> or admin:<username>"
    )
    comment = models.CharField(max_length=300, blank=True, default="")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "gate_policy"
        ordering = ["-version"]
        verbose_name_plural = "gate policies"

    def __str__(self):
        return f"gate policy v{self.version}"

    def as_policy(self):
        from apps.gate.policy import Policy

        return Policy.from_document(self.version, self.document, self.cedar)
