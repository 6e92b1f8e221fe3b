"""Gate policies (every save is a new version), decisions, approvals, pending approvals page."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from aiops.actors import actor_name
from aiops.permissions import APPROVER, has_role
from aiops.problems import Problem
from apps.gate import selectors, services
from apps.gate.models import GateDecision, GatePolicy, KillSwitch, KillSwitchFlip, PlanApproved
from apps.gate.policy import validate_document


class GatePolicyForm(forms.ModelForm):
    class Meta:
        model = GatePolicy
        fields = ["document", "cedar", "comment"]

    def clean(self):
        cleaned = super().clean()
        if "document" in cleaned:
            for problem in validate_document(cleaned["document"], cleaned.get("cedar", "")):
                self.add_error(None, problem)
        return cleaned


@admin.register(GatePolicy)
class GatePolicyAdmin(admin.ModelAdmin):
    form = GatePolicyForm
    list_display = ["version", "source", "comment", "created_by", "created_at"]
    readonly_fields = ["version", "source", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        # Never edit a version in place: the edited text becomes the next version.
        saved = services.policy_save(
            document=form.cleaned_data["document"],
            cedar=form.cleaned_data.get("cedar", ""),
            actor=actor_name(request.user),
            comment=form.cleaned_data.get("comment", ""),
        )
        obj.pk, obj.version = saved.pk, saved.version
        messages.info(request, f"Saved as gate policy v{saved.version} (now in force).")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GateDecision)
class GateDecisionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "decision", "risk", "policy_version", "actor"]
    list_filter = ["decision", "actor"]
    search_fields = ["case__id", "case__title"]
    readonly_fields = [f.name for f in GateDecision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        pending = path(
            "pending/",
            self.admin_site.admin_view(self.pending_approvals_view),
            name="gate_pending_approvals",
        )
        return [pending, *super().get_urls()]

    def pending_approvals_view(self, request):
        """List plans waiting for a human; Approve/Reject call the same services as the API."""
        if not has_role(request.user, APPROVER):
            raise PermissionDenied("Only approvers decide at the gate.")
        if request.method == "POST":
            self._decide(request)
            return redirect(reverse("admin:gate_pending_approvals"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Pending approvals",
            "entries": selectors.pending_entries(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/gate/pending_approvals.html", context)

    def _decide(self, request) -> None:
        case_id = request.POST.get("case_id", "")
        comment = request.POST.get("comment", "")
        actor = actor_name(request.user)
        try:
            if request.POST.get("action") == "approve":
                services.gate_approve(
                    case_id=case_id, user=request.user, actor=actor, comment=comment
                )
                messages.success(request, f"Approved case {case_id}.")
            elif request.POST.get("action") == "reject":
                services.gate_reject(
                    case_id=case_id, user=request.user, actor=actor, comment=comment
                )
                messages.success(request, f"Rejected case {case_id}; it is parked.")
            else:
                messages.error(request, "Choose Approve or Reject.")
        except Problem as refused:
            messages.error(request, f"{refused.title}: {refused.detail}")


@admin.register(PlanApproved)
class PlanApprovedAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "plan", "approved_by", "consumed_at", "voided_at"]
    readonly_fields = [f.name for f in PlanApproved._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class KillSwitchForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    """One row; Engage/Lift call the same service as POST /gate/kill-switch (approvers only)."""

    list_display = ["__str__", "reason", "changed_by", "changed_at"]
    change_list_template = "admin/gate/kill_switch.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            if not has_role(request.user, APPROVER):
                raise PermissionDenied("Only approvers flip the kill switch.")
            form = KillSwitchForm(request.POST)
            form.is_valid()
            try:
                services.kill_switch_set(
                    engaged=request.POST.get("action") == "engage",
                    actor=actor_name(request.user),
                    reason=form.cleaned_data.get("reason", ""),
                )
            except Problem as refused:
                messages.error(request, f"{refused.title}: {refused.detail}")
            return redirect(reverse("admin:gate_killswitch_changelist"))
        context = {
            **(extra_context or {}),
            "switch": selectors.kill_switch(),
            "flips": KillSwitchFlip.objects.all()[:20],
            "may_flip": has_role(request.user, APPROVER),
        }
        return super().changelist_view(request, extra_context=context)


@admin.register(KillSwitchFlip)
class KillSwitchFlipAdmin(admin.ModelAdmin):
    list_display = ["created_at", "engaged", "actor", "reason", "affected_cases"]
    readonly_fields = [f.name for f in KillSwitchFlip._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
