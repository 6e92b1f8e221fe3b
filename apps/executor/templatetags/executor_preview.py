"""{% plan_preview plan %}: a plan's dry-run preview, for admin pages of other apps (the
Gatekeeper's pending approvals) that show it without importing the Executor."""

from django import template

from apps.executor.preview import preview_plan

register = template.Library()


@register.inclusion_tag("admin/executor/_plan_preview.html")
def plan_preview(plan) -> dict:
    return {"previews": preview_plan(plan)}
