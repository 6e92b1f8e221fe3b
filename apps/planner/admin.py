"""Read-only view of proposed plans; plans are proposed through the API (POST /plan/generate)."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from apps.planner.models import PlanProposed


@admin.register(PlanProposed)
class PlanProposedAdmin(admin.ModelAdmin):
    list_display = ["case", "revision", "template", "risk_score", "created_by", "created_at"]
    list_filter = ["template"]
    search_fields = ["case__id", "case__title", "case__service"]
    readonly_fields = [
        f.name
        for f in PlanProposed._meta.fields
        if f.name not in ("document", "references", "similar_cases", "track_record")
    ] + ["cited_runbooks", "record_on_similar_cases", "plan_document"]

    @admin.display(description="cited runbooks")
    def cited_runbooks(self, plan):
        if not plan.references:
            return "none found"
        items = format_html_join(
            "",
            "<li><a href='{}'>{}</a> — {} (score {})<br><small>{}</small></li>",
            (
                (
                    ref.get("url") or "#",
                    ref.get("title"),
                    ref.get("section"),
                    ref.get("score"),
                    "rollback: " + ref["rollback_hint"]["text"][:200]
                    if ref.get("rollback_hint")
                    else "",
                )
                for ref in plan.references
            ),
        )
        return format_html("<ul>{}</ul>", items)

    @admin.display(description="track record on similar cases")
    def record_on_similar_cases(self, plan):
        if not plan.track_record:
            return "no similar closed case"
        return format_html_join(
            "", "<div>{}</div>", ((r["sentence"],) for r in plan.track_record.values())
        )

    @admin.display(description="document")
    def plan_document(self, plan):
        return format_html("<pre>{}</pre>", json.dumps(plan.document, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
