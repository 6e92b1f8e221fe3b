from django.urls import path

from apps.verifier.api import views

urlpatterns = [
    path("verify/checks/stats", views.CheckStatsView.as_view(), name="verify-check-stats"),
    path(
        "verify/<str:case_id>/checkpoints",
        views.CheckpointListView.as_view(),
        name="verify-checkpoints",
    ),
]
