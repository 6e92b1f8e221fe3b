"""The Sensor's tables: metric_series and metric_1m (one value per series and minute),
log_pattern_5m (log pattern counts per 5 minutes), drain_state (Drain3 miners), oo_locator
and evidence_link (where the evidence for a case, finding or step can be seen)."""

import uuid

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class MetricSeries(models.Model):
    """One series: a service, a metric and a label set. Its id is a 64-bit hash of the three
    (apps.sensor.staging.series_id), so the ingest path knows a point's series without a lookup,
    and a series deleted by retention comes back under the same id when it is written again."""

    id = models.BigIntegerField(primary_key=True)
    service = models.CharField(max_length=100)
    metric = models.CharField(max_length=200)
    # jsonb equality ignores key order, so {"a": 1, "b": 2} and {"b": 2, "a": 1} are one series.
    labels = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "metric_series"
        verbose_name = "metric series"
        verbose_name_plural = "metric series"
        ordering = ["service", "metric", "id"]
        indexes = [models.Index(fields=["service", "metric"], name="metric_series_name_idx")]

    def __str__(self):
        return f"{self.service}/{self.metric}{self.labels or ''}"


class Metric1m(models.Model):
    """A minute bucket of one series. Ingestion upserts it; retention deletes old minutes.

    Narrow on purpose: the primary key is the only b-tree a point updates (the series' names
    live in metric_series), which is what lets ingestion take a batch at COPY speed."""

    pk = models.CompositePrimaryKey("series_id", "minute")
    # No database constraint: it would cost a lookup and a row lock on the series per point.
    # Ingestion writes the series first in the same transaction; readers join it. Deleting a
    # series (the admin) deletes its minutes.
    series = models.ForeignKey(
        MetricSeries,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # the primary key leads with it
        related_name="minutes",
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC, seconds zeroed).")
    value = models.FloatField()
    # When the value last arrived: the Analyst's pass reads only series written since the
    # previous pass (plus their baseline), however old the minute written.
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "metric_1m"
        verbose_name = "metric minute"
        ordering = ["series", "minute"]
        indexes = [
            # BRIN: next to nothing per insert; arrival order is (mostly) minute order and
            # physical order. Retention deletes by minute, the Analyst reads by arrival.
            BrinIndex(fields=["minute"], name="metric_1m_minute_brin"),
            BrinIndex(fields=["received_at"], name="metric_1m_received_brin"),
        ]

    def __str__(self):
        return f"{self.series_id} @ {self.minute:%Y-%m-%d %H:%M}"


class LogPattern5m(models.Model):
    """How often one log pattern of a service was seen in a 5-minute bucket. Counts add up:
    POST /ingest/log-patterns and /ingest/logs upsert it (see docs/sensor.md)."""

    id = models.BigAutoField(primary_key=True)
    bucket = models.DateTimeField(help_text="Start of the 5-minute bucket (UTC).")
    service = models.CharField(max_length=100)
    pattern_id = models.CharField(
        max_length=200, help_text="A Drain3 cluster (drain-<n>) or the caller's own id."
    )
    template = models.TextField(blank=True, default="", help_text="The latest template seen.")
    count = models.BigIntegerField()

    class Meta:
        db_table = "log_pattern_5m"
        verbose_name = "log pattern bucket"
        ordering = ["service", "pattern_id", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "pattern_id", "bucket"], name="log_pattern_5m_bucket_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["service", "bucket"], name="log_pattern_5m_scan_idx"),
            models.Index(fields=["bucket"], name="log_pattern_5m_bucket_idx"),
        ]

    def __str__(self):
        return f"{self.service}/{self.pattern_id} x{self.count} @ {self.bucket:%Y-%m-%d %H:%M}"


class DrainState(models.Model):
    """The Drain3 miner of one service, serialized (apps.sensor.mining). Its row is locked
    while a request mines, so two workers never build on the same old state."""

    service = models.CharField(max_length=100, primary_key=True)
    state = models.BinaryField(null=True, blank=True, help_text="Drain3 snapshot (zlib+base64).")
    version = models.PositiveBigIntegerField(default=0, help_text="Saves so far.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "drain_state"
        verbose_name = "Drain3 state"
        ordering = ["service"]

    def __str__(self):
        return f"{self.service} (v{self.version})"


class OoLocator(models.Model):
    """Where a piece of evidence can be seen: a query in a log or metric store, or a URL."""

    OPENOBSERVE, LOKI, PROMETHEUS, ELASTICSEARCH, URL = (
        "openobserve",
        "loki",
        "prometheus",
        "elasticsearch",
        "url",
    )
    SYSTEMS = [OPENOBSERVE, LOKI, PROMETHEUS, ELASTICSEARCH, URL]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    system = models.CharField(max_length=20, choices=[(s, s) for s in SYSTEMS])
    stream = models.CharField(
        max_length=200, blank=True, default="", help_text="OpenObserve stream or index pattern"
    )
    query = models.TextField(blank=True, default="")
    time_from = models.DateTimeField(null=True, blank=True)
    time_to = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    url = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "oo_locator"
        verbose_name = "evidence locator"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.system}: {self.query or self.url or self.stream}"[:120]


class EvidenceLink(models.Model):
    """Ties a locator to what it is evidence for: a case, a finding or a step (of a case)."""

    CASE, FINDING, STEP = "case", "finding", "step"
    KINDS = [CASE, FINDING, STEP]

    id = models.BigAutoField(primary_key=True)
    locator = models.ForeignKey(OoLocator, on_delete=models.CASCADE, related_name="links")
    target_kind = models.CharField(max_length=10, choices=[(k, k) for k in KINDS])
    target_id = models.CharField(max_length=100)
    case_id = models.UUIDField(
        null=True, blank=True, help_text="The case the target belongs to (always for steps)."
    )
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150)

    class Meta:
        db_table = "evidence_link"
        verbose_name = "evidence link"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["target_kind", "target_id"], name="evidence_link_target_idx"),
            models.Index(fields=["case_id"], name="evidence_link_case_idx"),
        ]

    def __str__(self):
        return f"{self.target_kind} {self.target_id} ← {self.locator_id}"
