from django.urls import path

from apps.cases.api import views

urlpatterns = [
    path("case/create", views.CaseCreateView.as_view(), name="case-create"),
    path("case/", views.CaseListView.as_view(), name="case-list"),
    path("case/<str:case_id>", views.CaseDetailView.as_view(), name="case-detail"),
    path(
        "case/<str:case_id>/transition", views.CaseTransitionView.as_view(), name="case-transition"
    ),
    path(
        "case/<str:case_id>/verify-decision",
        views.CaseVerifyDecisionView.as_view(),
        name="case-verify-decision",
    ),
    path("case/<str:case_id>/timeline", views.CaseTimelineView.as_view(), name="case-timeline"),
]
