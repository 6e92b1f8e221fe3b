"""Rules are edited here; findings are evidence (read-only). The periodic pass itself is a
django-celery-beat task ("analyst-scan") under Periodic tasks."""

from django import forms
from django.contrib import admin

from apps.analyst import rules
from apps.analyst.models import AnalysisFinding, AnalysisRule


class AnalysisRuleForm(forms.ModelForm):
    class Meta:
        model = AnalysisRule
        fields = [
            "name",
            "kind",
            "enabled",
            "scope_service",
            "scope_metric",
            "scope_labels",
            "volume_metric",
            "params",
            "remedy",
            "severity",
            "environment",
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind not in rules.KINDS:
            self.add_error("kind", f"One of {', '.join(rules.KINDS)}.")
            return data
        try:
            rules.validate_params(kind, data.get("params") or {})
        except ValueError as bad:
            self.add_error("params", str(bad))
        return data


@admin.register(AnalysisRule)
class AnalysisRuleAdmin(admin.ModelAdmin):
    form = AnalysisRuleForm
    list_display = ["name", "kind", "enabled", "scope_service", "scope_metric", "severity"]
    list_filter = ["kind", "enabled", "severity"]
    search_fields = ["name", "scope_service", "scope_metric"]


@admin.register(AnalysisFinding)
class AnalysisFindingAdmin(admin.ModelAdmin):
    list_display = ["started_at", "status", "source", "kind", "service", "metric", "score"]
    list_filter = ["status", "source", "kind", "severity"]
    search_fields = ["fingerprint", "service", "metric", "summary"]
    ordering = ["-started_at"]
    actions = None  # evidence is not bulk-deleted; and a checkbox a row is half the render

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
