from django.urls import path

from apps.sensor.api import views

urlpatterns = [
    path("ingest/metrics", views.IngestMetricsView.as_view(), name="ingest-metrics"),
    path("ingest/log-patterns", views.IngestLogPatternsView.as_view(), name="ingest-log-patterns"),
    path("ingest/logs", views.IngestLogsView.as_view(), name="ingest-logs"),
    path("ingest/hint", views.IngestHintView.as_view(), name="ingest-hint"),
    # The evidence chain of a case is the Sensor's: the Orchestrator imports no other app.
    path("case/<str:case_id>/evidence", views.CaseEvidenceView.as_view(), name="case-evidence"),
]
