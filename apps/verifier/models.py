"""verify_checkpoint: one row per check of one verification of a case."""

from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase
from apps.planner.models import PlanProposed
from apps.verifier.evaluate import RESULTS


class VerifyCheckpoint(models.Model):
    """The verdict on one check. Rows sharing a `verification_id` are one evaluation of the
    plan's checks; the latest such group decides the case (see guards.verify_pass)."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="checkpoints")
    plan = models.ForeignKey(
        PlanProposed, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verification_id = models.UUIDField(db_index=True)
    position = models.PositiveSmallIntegerField(help_text="Index of the check in the plan.")
    check_name = models.CharField(max_length=100)
    source = models.CharField(max_length=20, help_text="metric_1m or prometheus")
    query = models.TextField(blank=True, default="", help_text="The series or PromQL asked.")
    aggregate = models.CharField(max_length=8)
    operator = models.CharField(max_length=2)
    threshold = models.FloatField()
    for_minutes = models.PositiveIntegerField(default=1)
    max_increase_pct = models.FloatField(null=True, blank=True)
    observed = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    change_pct = models.FloatField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    minutes_with_data = models.PositiveIntegerField(default=0)
    minutes_breached = models.PositiveIntegerField(default=0)
    longest_breach = models.PositiveIntegerField(default=0)
    minute_values = models.JSONField(default=list, blank=True)
    result = models.CharField(max_length=12, choices=[(r, r) for r in RESULTS])
    dry_run = models.BooleanField(default=False)
    sentence = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "verify_checkpoint"
        ordering = ["-created_at", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification_id", "position"], name="verify_checkpoint_check_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="verify_cp_case_time_idx"),
            # GET /verify/checks/stats reads only the dry-run rows of a recent window.
            models.Index(
                fields=["created_at"],
                condition=models.Q(dry_run=True),
                name="verify_cp_dry_run_time_idx",
            ),
        ]

    def __str__(self):
        return f"{self.check_name}: {self.result}"

    @property
    def deciding(self) -> bool:
        return not self.dry_run
