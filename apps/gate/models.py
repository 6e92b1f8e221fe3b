"""gate_decision (every evaluation or human decision) and plan_approved (the go-ahead)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase
from apps.planner.models import PlanProposed


class GateDecision(models.Model):
    APPROVED, REJECTED, NEEDS_HUMAN, DEFERRED = "approved", "rejected", "needs_human", "deferred"
    CHOICES = [(d, d) for d in (APPROVED, REJECTED, NEEDS_HUMAN, DEFERRED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="gate_decisions")
    plan = models.ForeignKey(PlanProposed, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=12, choices=CHOICES)
    reasons = models.JSONField(default=list, blank=True)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    risk = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    actor = models.CharField(max_length=150)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, default="policy", help_text="policy, human, expired")
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "gate_decision"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["case", "-created_at"], name="gate_decision_case_idx")]

    def __str__(self):
        return f"{self.decision} for {self.case_id}"


class PlanApproved(models.Model):
    """The go-ahead for one run of one plan revision, under one policy version.

    Good only while the case stays at the version it was given at (then the one version
    gate_approved moves it on): any park, resume or new revision leaves it behind. A run
    consumes it; parking marks it void for the record.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="approvals")
    plan = models.ForeignKey(PlanProposed, on_delete=models.CASCADE, related_name="approvals")
    # RESTRICT: kept while its approval lives; both go together when their case is deleted.
    decision = models.ForeignKey(GateDecision, on_delete=models.RESTRICT, related_name="+")
    approved_by = models.CharField(max_length=150)
    case_version = models.PositiveIntegerField(default=0)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    consumed_by_run = models.UUIDField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "plan_approved"
        verbose_name = "plan approval"
        constraints = [
            models.UniqueConstraint(
                fields=["plan"],
                condition=models.Q(consumed_at__isnull=True, voided_at__isnull=True),
                name="plan_approved_one_live_per_plan",
            )
        ]

    def __str__(self):
        return f"approval of plan r{self.plan.revision} for {self.case_id}"

    @property
    def live(self) -> bool:
        return self.consumed_at is None and self.voided_at is None


class KillSwitch(models.Model):
    """One row (pk=1): while engaged, nothing executes on its own (see services.kill_switch_set).
    Every flip is kept in KillSwitchFlip."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    engaged = models.BooleanField(default=False)
    reason = models.TextField(blank=True, default="")
    changed_by = models.CharField(max_length=150, blank=True, default="")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gate_kill_switch"
        verbose_name = "kill switch"

    def __str__(self):
        return "kill switch: " + ("ENGAGED" if self.engaged else "off")


class KillSwitchFlip(models.Model):
    engaged = models.BooleanField()
    reason = models.TextField(blank=True, default="")
    actor = models.CharField(max_length=150)
    affected_cases = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "gate_kill_switch_flip"
        ordering = ["-created_at"]
        verbose_name = "kill switch flip"

    def __str__(self):
        return f"{'engaged' if self.engaged else 'lifted'} by {self.actor}"


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
