from django.urls import path

from apps.analyst.api import views

urlpatterns = [
    path(
        "ingest/alertmanager", views.AlertmanagerWebhookView.as_view(), name="ingest-alertmanager"
    ),
    path("analyze/run", views.AnalyzeRunView.as_view(), name="analyze-run"),
    path("analyze/findings", views.FindingListView.as_view(), name="analyze-findings"),
]
