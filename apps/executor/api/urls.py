from django.urls import path

from apps.executor.api import views

urlpatterns = [
    path("adapter/exec", views.ExecStartView.as_view(), name="exec-start"),
    path("adapter/runs", views.ExecRunListView.as_view(), name="exec-run-list"),
    path("adapter/runs/<str:run_id>", views.ExecRunDetailView.as_view(), name="exec-run-detail"),
    path("plan/<str:plan_id>/preview", views.PlanPreviewView.as_view(), name="plan-preview"),
    path(
        "adapter/steps/<str:step_id>/output",
        views.StepOutputView.as_view(),
        name="exec-step-output",
    ),
]
