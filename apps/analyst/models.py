"""The Analyst's tables: its rules (DB rows seeded from rules.yaml), the findings they and
Alertmanager report (analysis_finding), and the watermark of the periodic scan."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import Severity

SOURCE_RULE, SOURCE_ALERTMANAGER = "rule", "alertmanager"
FIRING, RESOLVED = "firing", "resolved"


class AnalysisRule(models.Model):
    """One anomaly rule: its kind (apps.analyst.rules.KINDS), the series it watches and its
    parameters. Scope fields left empty match any series."""

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20)
    enabled = models.BooleanField(default=True)
    scope_service = models.CharField(max_length=100, blank=True, default="")
    scope_metric = models.CharField(
        max_length=200, blank=True, default="", help_text="metric name; log pattern id for log_*"
    )
    scope_labels = models.JSONField(
        default=dict, blank=True, help_text="the series' labels must contain these"
    )
    volume_metric = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="error_rate: the request-count metric the error counts are divided by",
    )
    params = models.JSONField(default=dict, blank=True)
    remedy = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="the change the incident plan makes (restart, rollback, scale_out, canary); "
        "empty: the Planner picks by kind",
    )
    severity = models.CharField(max_length=4, choices=Severity.choices, default="sev3")
    environment = models.CharField(
        max_length=50, default="prod", help_text="the environment a case it opens is about"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analysis_rule"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class AnalysisFinding(models.Model):
    """One episode of an anomaly: opened when a rule starts firing on a series (or an alert
    fires), kept while it goes on, resolved when it stops. At most one firing finding per
    fingerprint, so a redelivered alert or a repeated pass adds nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fingerprint = models.CharField(max_length=64, db_index=True)
    source = models.CharField(max_length=20)
    rule = models.ForeignKey(
        AnalysisRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    kind = models.CharField(max_length=50, help_text="the rule's kind, or the alert's name")
    service = models.CharField(max_length=100)
    environment = models.CharField(max_length=50)
    metric = models.CharField(max_length=200, blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=4, choices=Severity.choices, default="sev3")
    status = models.CharField(max_length=10, choices=[(FIRING, FIRING), (RESOLVED, RESOLVED)])
    observed = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    score = models.FloatField(default=0.0)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    summary = models.TextField(blank=True, default="")
    detail = models.JSONField(default=dict, blank=True, help_text="annotations, generator URL…")
    quiet = models.PositiveIntegerField(
        default=0, help_text="passes in a row without firing (resolves after clear_after)"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "analysis_finding"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(status=FIRING),
                name="analysis_finding_one_firing",
            ),
            # Alertmanager: one finding per alert episode (fingerprint + startsAt), so a
            # redelivered resolved alert does not open it again.
            models.UniqueConstraint(
                fields=["fingerprint", "started_at"],
                condition=Q(source=SOURCE_ALERTMANAGER),
                name="analysis_finding_alert_episode",
            ),
        ]
        indexes = [
            models.Index(fields=["service", "-started_at"], name="analysis_finding_svc_idx"),
            models.Index(fields=["status", "rule"], name="analysis_finding_open_idx"),
            # The admin's list and the dashboard's last hour, newest first.
            models.Index(fields=["-started_at"], name="analysis_finding_started_idx"),
        ]

    def __str__(self):
        return f"{self.kind} on {self.service} ({self.status})"

    def as_event(self) -> dict:
        """What travels in evt.analysis.findings.v1 and is kept on the case."""
        return {
            "id": str(self.id),
            "fingerprint": self.fingerprint,
            "source": self.source,
            "kind": self.kind,
            "rule": self.rule.name if self.rule_id else "",
            "service": self.service,
            "environment": self.environment,
            "metric": self.metric,
            "labels": self.labels,
            "severity": self.severity,
            "status": self.status,
            "observed": self.observed,
            "baseline": self.baseline,
            "score": self.score,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "summary": self.summary,
            "remedy": self.detail.get("remedy", ""),
        }


class ScanPass(models.Model):
    """One row per scan scope: the moment the previous pass started, so the next one reads
    only the series written since (plus their baseline window)."""

    scope = models.CharField(max_length=200, primary_key=True)
    watermark = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    series = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "analysis_scan"

    def __str__(self):
        return f"{self.scope} pass from {self.watermark:%H:%M:%S}"
