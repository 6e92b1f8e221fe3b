from django.urls import path

from apps.kb.api import views

urlpatterns = [
    path("kb/ingest", views.IngestView.as_view(), name="kb-ingest"),
    path("kb/search", views.SearchView.as_view(), name="kb-search"),
    path("case/<str:case_id>/similar", views.SimilarCasesView.as_view(), name="case-similar"),
]
