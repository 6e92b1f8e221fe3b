"""exec_run (one execution of an approved plan) and exec_step (one attempt of one step)."""

import uuid

from django.db import models
from django.utils import timezone

from apps.cases.models import OpsCase


class ExecRun(models.Model):
    RUNNING, SUCCEEDED = "running", "succeeded"
    FAILED, ROLLED_BACK, CANCELLED = "failed", "rolled_back", "cancelled"
    STATUSES = [RUNNING, SUCCEEDED, FAILED, ROLLED_BACK, CANCELLED]
    ACTIVE = (RUNNING,)
    # The phase the run is in: forward steps, then (on failure) the plan's rollback steps.
    FORWARD, ROLLBACK = "forward", "rollback"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(OpsCase, on_delete=models.CASCADE, related_name="exec_runs")
    plan = models.ForeignKey(
        # RESTRICT: a plan that was run stays while its run does; both go with their case.
        "planner.PlanProposed",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
    )
    document = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=[(s, s) for s in STATUSES], default=RUNNING, db_index=True
    )
    phase = models.CharField(
        max_length=8, choices=[(FORWARD, FORWARD), (ROLLBACK, ROLLBACK)], default=FORWARD
    )
    # Set on a run of rollback steps only, started after the run it names failed its
    # verification (cmd.exec.rollback.v1): it reports to the timeline, not to the FSM.
    undoes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="undone_by"
    )
    cancel_requested = models.BooleanField(default=False)
    reason = models.TextField(blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "exec_run"
        verbose_name = "run"
        ordering = ["-created_at"]
        constraints = [
            # At most one active run per case.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status="running"),
                name="exec_run_one_active_per_case",
            )
        ]

    def __str__(self):
        return f"run {self.pk} [{self.status}]"

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class ExecStep(models.Model):
    """One attempt of one plan step. A retry is a new row with attempt + 1 and a new message id."""

    QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
    TIMED_OUT, LOST, CANCELLED = "timed_out", "lost", "cancelled"
    STATUSES = [QUEUED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, LOST, CANCELLED]
    FINAL = (SUCCEEDED, FAILED, TIMED_OUT, LOST, CANCELLED)

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(ExecRun, on_delete=models.CASCADE, related_name="steps")
    phase = models.CharField(max_length=8, default=ExecRun.FORWARD)
    index = models.PositiveIntegerField()
    step_id = models.CharField(max_length=100)
    adapter = models.CharField(max_length=40)
    action = models.CharField(max_length=100)
    params = models.JSONField(default=dict, blank=True)
    timeout_s = models.FloatField(default=60)
    retries = models.PositiveIntegerField(default=0)
    backoff_s = models.FloatField(default=0)
    # The plan step's `idempotent`: may an attempt that started and was lost be run again?
    # db_default: workers of the previous release still insert rows during a rolling deploy.
    idempotent = models.BooleanField(default=False, db_default=False)
    attempt = models.PositiveIntegerField(default=1)
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=10, choices=[(s, s) for s in STATUSES], default=QUEUED, db_index=True
    )
    worker = models.CharField(max_length=200, blank=True, default="")
    # Where the attempt's processes are, so the sweeper can make sure they are gone before a
    # retry: the claiming worker's host (procs.host_id), and for a script its process group
    # and the group leader's start time (tells the leader from a later process with its pid).
    host = models.CharField(max_length=255, null=True, blank=True)
    pgid = models.IntegerField(null=True, blank=True)
    proc_start = models.BigIntegerField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    # A delay longer than the broker may hold a message (AIOPS_BROKER_MAX_DELAY_S): nothing is
    # published until not_before; the sweeper publishes it when due.
    deferred = models.BooleanField(default=False)
    queued_at = models.DateTimeField(default=timezone.now)
    # Times the sweep handed a queued attempt to the broker again: each waits twice as long,
    # so a backlog (messages merely waiting their turn) is not flooded with duplicates.
    republished = models.PositiveSmallIntegerField(default=0, db_default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    exit_code = models.IntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    stdout_ref = models.CharField(max_length=500, blank=True, default="")
    stderr_ref = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        db_table = "exec_step"
        verbose_name = "step attempt"
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "phase", "index", "attempt"], name="exec_step_one_row_per_attempt"
            )
        ]

    def __str__(self):
        return f"{self.phase}/{self.step_id}#{self.attempt} [{self.status}]"

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
