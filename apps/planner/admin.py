"""Read-only view of proposed plans; plans are proposed through the API (POST /plan/generate)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from apps.planner.models import PlanProposed


@admin.register(PlanProposed)
class PlanProposedAdmin(admin.ModelAdmin):
    list_display = ["case", "revision", "template", "risk_score", "created_by", "created_at"]
    list_filter = ["template"]
    search_fields = ["case__id", "case__title", "case__service"]
    readonly_fields = [f.name for f in PlanProposed._meta.fields if f.name != "document"] + [
        "plan_document"
    ]

    @admin.display(description="document")
    def plan_document(self, plan):
        return format_html("<pre>{}</pre>", json.dumps(plan.document, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
