from django.urls import path

from apps.planner.api import views

urlpatterns = [
    path("plan/generate", views.PlanGenerateView.as_view(), name="plan-generate"),
    path("plan/schema", views.PlanSchemaView.as_view(), name="plan-schema"),
    path("plan/<str:plan_id>", views.PlanDetailView.as_view(), name="plan-detail"),
]
