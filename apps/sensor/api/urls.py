from django.urls import path

from apps.sensor.api import views

urlpatterns = [
    path("ingest/metrics", views.IngestMetricsView.as_view(), name="ingest-metrics"),
]
