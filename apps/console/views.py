"""The dashboard (GET /admin/dashboard/) and its two switches: the kill switch and each
environment's autopilot, flipped through the Gatekeeper's services by approvers only (as
POST /gate/kill-switch), every flip kept with who and when."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from aiops.actors import actor_name
from aiops.permissions import APPROVER
from aiops.problems import Problem
from apps.cases import workflow as wf
from apps.console import actions
from apps.console.dashboard import dashboard
from apps.gate import services as gate_services


class DashboardView(View):
    def get(self, request):
        roles = actions.roles_of(request.user)
        if not roles:
            raise PermissionDenied("The dashboard is for the roles that read cases.")
        context = {
            **admin.site.each_context(request),
            "title": "Dashboard",
            "may_flip": APPROVER in roles,
            "modes": wf.AUTOPILOT_MODES,
            **dashboard(),
        }
        return TemplateResponse(request, "admin/console/dashboard.html", context)


class _Flip(View):
    def post(self, request):
        if APPROVER not in actions.roles_of(request.user):
            raise PermissionDenied("Only approvers flip the kill switch and the autopilot.")
        try:
            messages.success(request, self.flip(request, actor_name(request.user)))
        except Problem as refused:
            messages.error(request, f"Nothing was changed. {refused.title}: {refused.detail}")
        return redirect(reverse("console-dashboard"))


class KillSwitchFlipView(_Flip):
    def flip(self, request, actor: str) -> str:
        engage = request.POST.get("action") == "engage"
        reason = request.POST.get("reason", "").strip()
        gate_services.kill_switch_set(engaged=engage, actor=actor, reason=reason)
        return "Kill switch engaged." if engage else "Kill switch lifted."


class AutopilotFlipView(_Flip):
    def flip(self, request, actor: str) -> str:
        environment = request.POST.get("environment", "")
        mode = request.POST.get("mode", "")
        policy = gate_services.autopilot_set(environment=environment, mode=mode, actor=actor)
        return f"Autopilot of {environment} is {mode} (gate policy v{policy.version})."
