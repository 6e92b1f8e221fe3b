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

    def __str__(self):
        return f"approval of plan r{self.plan.revision} for {self.case_id}"
