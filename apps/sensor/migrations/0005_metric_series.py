"""metric_1m becomes narrow: a series' service, metric and labels move to metric_series, under
an id hashed from them (apps.sensor.staging.series_id); metric_1m keeps (series, minute) as
its primary key, the value and the arrival time. Stored minutes are carried over."""

import json

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

from apps.sensor.staging import canonical_labels, series_id

# The old table is set aside, its indexes dropped (their names are the new table's to use).
SET_ASIDE = """
ALTER TABLE metric_1m RENAME TO metric_1m_legacy;
ALTER INDEX metric_1m_pkey RENAME TO metric_1m_legacy_pkey;
ALTER TABLE metric_1m_legacy DROP CONSTRAINT metric_1m_series_minute_uniq;
DROP INDEX metric_1m_scan_idx, metric_1m_minute_idx, metric_1m_received_brin;
"""


def carry_over(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT service, metric, labels::text FROM metric_1m_legacy")
        series = []
        for service, metric, labels in cursor.fetchall():
            labels = canonical_labels(json.loads(labels))
            series.append((series_id(service, metric, labels), service, metric, labels))
        cursor.executemany(
            "INSERT INTO metric_series (id, service, metric, labels) "
            "VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (id) DO NOTHING",
            series,
        )
        # A series whose id was taken by another (2^-64 odds) is dropped with its minutes.
        cursor.execute(
            "INSERT INTO metric_1m (series_id, minute, value, received_at) "
            "SELECT s.id, l.minute, l.value, l.received_at FROM metric_1m_legacy l "
            "JOIN metric_series s "
            "ON (s.service, s.metric, s.labels) = (l.service, l.metric, l.labels)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sensor", "0004_metric1m_received_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="MetricSeries",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("service", models.CharField(max_length=100)),
                ("metric", models.CharField(max_length=200)),
                ("labels", models.JSONField(blank=True, default=dict)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "metric series",
                "verbose_name_plural": "metric series",
                "db_table": "metric_series",
                "ordering": ["service", "metric", "id"],
                "indexes": [
                    models.Index(fields=["service", "metric"], name="metric_series_name_idx")
                ],
            },
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SET_ASIDE)],
            state_operations=[migrations.DeleteModel(name="Metric1m")],
        ),
        migrations.CreateModel(
            name="Metric1m",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "series_id",
                        "minute",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "minute",
                    models.DateTimeField(help_text="Start of the minute (UTC, seconds zeroed)."),
                ),
                ("value", models.FloatField()),
                (
                    "received_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "series",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="minutes",
                        to="sensor.metricseries",
                    ),
                ),
            ],
            options={
                "verbose_name": "metric minute",
                "db_table": "metric_1m",
                "ordering": ["series", "minute"],
                "indexes": [
                    django.contrib.postgres.indexes.BrinIndex(
                        fields=["minute"], name="metric_1m_minute_brin"
                    ),
                    django.contrib.postgres.indexes.BrinIndex(
                        fields=["received_at"], name="metric_1m_received_brin"
                    ),
                ],
            },
        ),
        migrations.RunPython(carry_over, elidable=True),
        migrations.RunSQL("DROP TABLE metric_1m_legacy"),
    ]
