"""metric_1m: one value per (service, metric, labels) series and minute."""

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models.functions import Now


class Metric1m(models.Model):
    """A minute bucket of one series. Ingestion upserts it; retention deletes old minutes."""

    id = models.BigAutoField(primary_key=True)
    minute = models.DateTimeField(help_text="Start of the minute (UTC, seconds zeroed).")
    service = models.CharField(max_length=100)
    metric = models.CharField(max_length=200)
    # jsonb equality ignores key order, so {"a": 1, "b": 2} and {"b": 2, "a": 1} are one series.
    labels = models.JSONField(default=dict, blank=True)
    value = models.FloatField()
    # When the value last arrived: the Analyst's pass reads only series written since the
    # previous pass (plus their baseline), however old the minute written.
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "metric_1m"
        verbose_name = "metric minute"
        ordering = ["service", "metric", "minute"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "metric", "labels", "minute"],
                name="metric_1m_series_minute_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["service", "metric", "minute"], name="metric_1m_scan_idx"),
            # Retention deletes by age across all series.
            models.Index(fields=["minute"], name="metric_1m_minute_idx"),
            # BRIN: next to nothing per insert; arrival order is (mostly) physical order.
            BrinIndex(fields=["received_at"], name="metric_1m_received_brin"),
        ]

    def __str__(self):
        return f"{self.service}/{self.metric}{self.labels or ''} @ {self.minute:%Y-%m-%d %H:%M}"
