from django.urls import path

from apps.gate.api import views

urlpatterns = [
    path("gate/eval", views.GateEvalView.as_view(), name="gate-eval"),
    path("gate/approve", views.GateApproveView.as_view(), name="gate-approve"),
    path("gate/reject", views.GateRejectView.as_view(), name="gate-reject"),
    path("gate/policy", views.GatePolicyView.as_view(), name="gate-policy"),
    path("gate/kill-switch", views.KillSwitchView.as_view(), name="gate-kill-switch"),
]
