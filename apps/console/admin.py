"""The case page: a case's change view in the admin becomes one read-mostly screen (state and
the buttons for what may be done now, timeline, plan, gate decisions, run, checkpoints with
charts, findings, evidence). The Orchestrator's admin cannot show the other modules' records
(apps.cases imports no app), so this app re-registers the case admin around it.

Anyone staff with a role may look (as GET /case/{id} for every role); each button needs the
role its API needs (operator for people's events, approver for the gate).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from aiops.permissions import OPERATOR
from aiops.problems import Problem
from apps.cases.admin import OpsCaseAdmin
from apps.cases.exceptions import CaseNotFound, StaleVersion
from apps.cases.models import OpsCase
from apps.cases.selectors import case_get
from apps.console import actions, charts, selectors
from apps.gate.selectors import policy_in_force

admin.site.unregister(OpsCase)


@admin.register(OpsCase)
class CaseAdmin(OpsCaseAdmin):
    list_select_related = ["created_by"]
    list_per_page = 50  # the stock admin renders ~1.5 ms a row: half the page, half the wait
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return bool(actions.roles_of(request.user)) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return bool(actions.roles_of(request.user)) or super().has_module_permission(request)

    def get_actions(self, request):
        # Role holders see the list by role (above): parking from it stays the operators'.
        found = super().get_actions(request)
        if OPERATOR not in actions.roles_of(request.user):
            found.pop("park_cases", None)
        return found

    def get_urls(self):
        act = path(
            "<uuid:case_id>/act/",
            self.admin_site.admin_view(self.act_view),
            name="cases_opscase_act",
        )
        return [act, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied("Only the roles that read cases see them.")
        try:
            case = case_get(object_id)
        except CaseNotFound:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        page = selectors.case_page(case)
        roles = actions.roles_of(request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": case.title,
            "opts": self.model._meta,
            "page": page,
            "case": case,
            "records": self.related(case),  # every record of the case, in its own admin
            "actions_now": actions.available(
                case.state, waiting_for_person=page.pending_decision is not None, roles=roles
            ),
            "charts": [_chart(view, page.change_at) for view in page.latest_verification],
            "roles": sorted(roles),
            "four_eyes": policy_in_force().as_policy().four_eyes(case.environment),
        }
        return TemplateResponse(request, "admin/console/case.html", context)

    def act_view(self, request, case_id):
        """POST an action from the case page: the version the page showed must still be the
        case's (If-Match), or nothing happens and the page says so."""
        if request.method != "POST":
            return redirect(reverse("admin:cases_opscase_change", args=[case_id]))
        action = actions.find(request.POST.get("action", ""))
        if action is None:
            messages.error(request, "Unknown action.")
        elif action.role not in actions.roles_of(request.user):
            raise PermissionDenied(f"'{action.label}' needs the {action.role} role.")
        else:
            self._take(request, action, case_id)
        return redirect(reverse("admin:cases_opscase_change", args=[case_id]))

    def _take(self, request, action, case_id) -> None:
        version = request.POST.get("version", "")
        if not version.isdigit():
            messages.error(request, "The page sent no case version: reload it and try again.")
            return
        try:
            done = actions.take(
                action,
                case_id=case_id,
                user=request.user,
                reason=request.POST.get("reason", "").strip(),
                if_match=int(version),
            )
        except StaleVersion as stale:
            messages.error(
                request,
                f"Nothing was done: the case changed while you were looking (it is at version "
                f"{stale.extra.get('current_version')}, this page showed version {version}). "
                "Here it is as it is now; look again before you decide.",
            )
        except Problem as refused:
            messages.error(request, f"Nothing was done. {refused.title}: {refused.detail}")
        else:
            messages.success(request, done)


def _chart(view: selectors.CheckpointView, change_at) -> dict:
    cp = view.checkpoint
    svg = charts.checkpoint_svg(
        title=f"{cp.check_name}: {cp.aggregate} {cp.operator} {cp.threshold:g}",
        minute_values=view.minute_values,
        threshold=cp.threshold,
        window_start=cp.window_start,
        window_end=cp.window_end,
        change_at=change_at,
        baseline=cp.baseline,
    )
    return {"checkpoint": cp, "svg": mark_safe(svg)}  # noqa: S308 — pygal escapes its text
