"""Mounted at admin/dashboard/ (aiops/urls.py), each view behind the admin's login."""

from django.contrib import admin
from django.urls import path

from apps.console import views

urlpatterns = [
    path("", admin.site.admin_view(views.DashboardView.as_view()), name="console-dashboard"),
    path(
        "kill-switch",
        admin.site.admin_view(views.KillSwitchFlipView.as_view()),
        name="console-kill-switch",
    ),
    path(
        "autopilot",
        admin.site.admin_view(views.AutopilotFlipView.as_view()),
        name="console-autopilot",
    ),
]
